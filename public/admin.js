// cek-gateway admin pages: small enhancements on top of pages that work without script.
// Served from /static (the admin CSP allows scripts from our own origin only, nothing inline).
(function () {
  'use strict';

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }
  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  // ---- copy buttons: <button data-copy="#input-id"> ----
  function selectAll(el) {
    if (typeof el.select === 'function') {
      el.focus();
      el.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function copyText(el) {
    var text = typeof el.value === 'string' ? el.value : el.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // http on another host than localhost: no clipboard API; select and use the legacy command.
    selectAll(el);
    var done = false;
    try {
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
    return done ? Promise.resolve() : Promise.reject(new Error('copy failed'));
  }
  $all('[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      var input = $(button.getAttribute('data-copy'));
      if (!input) return;
      var label = button.textContent;
      copyText(input).then(
        function () {
          button.textContent = 'Copied';
          button.classList.add('copied');
        },
        function () {
          selectAll(input);
          button.textContent = 'Press Ctrl+C';
        },
      );
      setTimeout(function () {
        button.textContent = label;
        button.classList.remove('copied');
      }, 2000);
    });
  });

  // ---- confirmation before destructive forms: <form data-confirm="..."> ----
  $all('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });

  // ---- typed confirmation: the delete button waits for the exact ID ----
  $all('[data-enable-on-match]').forEach(function (button) {
    var input = $(button.getAttribute('data-enable-on-match'));
    if (!input) return;
    var expected = input.getAttribute('data-confirm-match');
    function update() {
      button.disabled = input.value.trim() !== expected;
    }
    input.addEventListener('input', update);
    update();
  });

  // ---- live validation of an ID as it is typed (the server checks again) ----
  function liveCheck(input, pattern, okText, badText) {
    var re = new RegExp(pattern);
    var note = document.createElement('p');
    note.setAttribute('aria-live', 'polite');
    note.id = input.id + '-live';
    var field = input.closest('.field');
    var serverError = field && $('.field-error', field);
    input.insertAdjacentElement('afterend', note);
    function update() {
      var v = input.value.trim();
      if (serverError && v !== input.defaultValue) {
        serverError.hidden = true;
      }
      if (v === '') {
        note.textContent = '';
        note.className = '';
        input.removeAttribute('aria-invalid');
        return;
      }
      var ok = re.test(v);
      note.textContent = ok ? okText : badText;
      note.className = ok ? 'field-ok' : 'field-error';
      if (ok) input.removeAttribute('aria-invalid');
      else input.setAttribute('aria-invalid', 'true');
    }
    input.addEventListener('input', update);
    if (!serverError) update();
  }
  $all('input[data-id-pattern]').forEach(function (input) {
    // Pattern and sentence both come from the server's one rule (EXTENSION_ID in extensions/model.ts).
    liveCheck(input, input.getAttribute('data-id-pattern'), 'Looks good.', input.getAttribute('data-id-rule'));
  });
  $all('input[data-name-pattern]').forEach(function (input) {
    liveCheck(input, input.getAttribute('data-name-pattern'), 'Looks good.', input.getAttribute('data-name-rule'));
  });

  // ---- show only the fields of the chosen trigger / request type ----
  function switcher(select, attribute) {
    function update() {
      $all('[' + attribute + ']').forEach(function (el) {
        var show = el.getAttribute(attribute) === select.value;
        el.hidden = !show;
        $all('input, select, textarea', el).forEach(function (f) {
          f.disabled = !show;
        });
      });
    }
    select.addEventListener('change', update);
    update();
  }
  var triggerType = $('#f-triggerType');
  if (triggerType) switcher(triggerType, 'data-trigger-for');
  var requestType = $('#console-form #f-type');
  if (requestType) switcher(requestType, 'data-type-for');
  // The console's event list: namespace and name fields only for "another event" (value "").
  var eventChoice = $('#console-form #f-event');
  if (eventChoice) switcher(eventChoice, 'data-event-for');

  // ---- the token source only matters when the token is sent ----
  $all('[data-needs]').forEach(function (el) {
    var box = $(el.getAttribute('data-needs'));
    if (!box) return;
    function update() {
      el.classList.toggle('muted', !box.checked);
      $all('select, input', el).forEach(function (f) {
        f.disabled = !box.checked;
      });
    }
    box.addEventListener('change', update);
    update();
  });

  // ---- live preview of the login prompt ----
  $all('textarea[data-preview]').forEach(function (textarea) {
    var out = $(textarea.getAttribute('data-preview'));
    if (!out) return;
    function update() {
      var template = textarea.value.trim() || out.getAttribute('data-default') || '';
      out.textContent = template.split('{url}').join(out.getAttribute('data-url')).split('{code}').join(out.getAttribute('data-code'));
    }
    textarea.addEventListener('input', update);
  });

  // ---- after a save, the confirmation goes where the user saved ----
  // The server redirects to the saved section (#step-3, #plan, ...); the flash is rendered at the top
  // of the page, out of view. Move it into that section, and fill it only after the move: screen
  // readers announce changes to a live region, not text that was already there when the page loaded.
  var flash = $('#flash');
  if (flash) {
    var flashText = flash.textContent;
    var savedAt = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    flash.textContent = '';
    if (savedAt && !savedAt.contains(flash)) {
      var head = $(':scope > .step-head, :scope > .card-head, :scope > .key-head, :scope > h2', savedAt);
      if (head) head.insertAdjacentElement('afterend', flash);
      else savedAt.insertAdjacentElement('afterbegin', flash);
      flash.classList.add('flash-here');
      savedAt.scrollIntoView({ block: 'start' });
    }
    setTimeout(function () {
      flash.textContent = flashText;
    }, 150);
  }

  // ---- static header values are hidden until asked for ----
  $all('textarea[data-mask]').forEach(function (textarea) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'button secondary small reveal';
    button.id = textarea.id + '-reveal';
    button.setAttribute('aria-controls', textarea.id);
    function show(visible) {
      textarea.classList.toggle('masked', !visible);
      button.textContent = visible ? 'Hide values' : 'Show values';
      button.setAttribute('aria-pressed', visible ? 'true' : 'false');
    }
    button.addEventListener('click', function () {
      show(textarea.classList.contains('masked'));
    });
    textarea.insertAdjacentElement('afterend', button);
    // Typing into a hidden field is typing blind: an empty one starts visible.
    show(textarea.value === '');
  });

  // ---- a form posted after the session ended is put back after signing in ----
  // The server cannot keep a form it refused to read (no session, no CSRF check), so the tab keeps
  // it: each posted form's fields go to sessionStorage (this tab only) until the next page shows
  // whether it was saved. Password fields (write-only secrets) and hidden fields (the stale CSRF
  // token) are never kept.
  var KEPT = 'cekgw-posted-form';
  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage switched off: forms are simply not put back
    }
  }
  function remember(form) {
    var store = storage();
    if (!store) return;
    var fields = $all('input, select, textarea', form)
      .filter(function (f) {
        return f.name && !f.disabled && f.type !== 'hidden' && f.type !== 'password' && f.type !== 'submit' && f.type !== 'button';
      })
      .map(function (f) {
        return { name: f.name, type: f.type, value: f.value, checked: f.checked };
      });
    store.setItem(KEPT, JSON.stringify({ page: location.pathname, action: form.getAttribute('action'), fields: fields, signIn: false }));
  }
  function putBack(kept) {
    var form = $all('main form[method=post]').filter(function (f) {
      return f.getAttribute('action') === kept.action;
    })[0];
    if (!form) return;
    var seen = {};
    kept.fields.forEach(function (k) {
      var all = $all('[name="' + k.name.replace(/["\\]/g, '') + '"]', form);
      if (k.type === 'checkbox' || k.type === 'radio') {
        all.forEach(function (f) {
          if (f.value === k.value) f.checked = k.checked;
        });
        return;
      }
      var i = seen[k.name] || 0;
      seen[k.name] = i + 1;
      if (all[i]) all[i].value = k.value;
      all.forEach(function (f) {
        f.dispatchEvent(new window.Event('input', { bubbles: true }));
        f.dispatchEvent(new window.Event('change', { bubbles: true }));
      });
    });
    var note = document.createElement('p');
    note.className = 'alert warn';
    note.id = 'restored';
    note.setAttribute('role', 'status');
    form.insertAdjacentElement('afterbegin', note);
    form.scrollIntoView({ block: 'start' });
    setTimeout(function () {
      note.textContent = 'Not saved yet: this form is filled in as you left it before signing in again. Check it and save.';
    }, 150);
  }
  (function () {
    var store = storage();
    var raw = store && store.getItem(KEPT);
    if (!raw) return;
    var kept;
    try {
      kept = JSON.parse(raw);
    } catch {
      store.removeItem(KEPT);
      return;
    }
    var login = $('#login-form');
    if (login) {
      // Only the "not saved" sign-in page takes the admin back; the server checks `next` again.
      if (login.hasAttribute('data-unsaved-login') && /^\/admin\//.test(kept.page)) {
        $('input[name=next]', login).value = kept.page;
        kept.signIn = true;
        store.setItem(KEPT, JSON.stringify(kept));
      }
      return;
    }
    // Any other page: the post went through (or was answered with its own values): forget it, and
    // put it back only on the page it came from, right after signing in.
    store.removeItem(KEPT);
    if (kept.signIn && kept.page === location.pathname) putBack(kept);
  })();

  // ---- unsaved edits: saving one form, or leaving, must not silently drop another's ----
  function changed(form) {
    return $all('input, select, textarea', form).some(function (f) {
      if (f.type === 'hidden' || f.disabled) return false;
      if (f.type === 'checkbox' || f.type === 'radio') return f.checked !== f.defaultChecked;
      if (f.tagName === 'SELECT') {
        return Array.prototype.some.call(f.options, function (o) {
          return o.selected !== o.defaultSelected;
        });
      }
      return f.value !== f.defaultValue;
    });
  }
  var leaving = null;
  var editable = $all('main form[method=post]:not([data-unsaved=ignore])');
  editable.forEach(function (form) {
    form.addEventListener('submit', function (event) {
      // A cancelled confirm (data-confirm, registered earlier) stays on the page: nothing is leaving.
      if (event.defaultPrevented) return;
      leaving = form;
      remember(form);
    });
  });
  window.addEventListener('beforeunload', function (event) {
    var unsaved = editable.filter(function (form) {
      return form !== leaving && changed(form);
    });
    leaving = null;
    if (unsaved.length === 0) return;
    event.preventDefault();
    // Older browsers show the dialog only when returnValue is set.
    event.returnValue = '';
  });

  // ---- after a refused form, bring its first problem into view ----
  var firstError = $('.has-error input, .has-error select, .has-error textarea, .card .alert.error');
  if (firstError && !location.hash) {
    firstError.scrollIntoView({ block: 'center' });
    if (firstError.focus) firstError.focus({ preventScroll: true });
  }
})();
