import { z } from 'zod';
import { applyError, emptyForm } from '../../src/admin/pages/forms.js';
import { parseInput } from '../../src/http/validate.js';

describe('messages next to admin form fields (issue 14: the rule in words, never a regex)', () => {
  test("zod's default for a pattern (it quotes the regex) becomes a sentence", () => {
    let err: unknown;
    try {
      parseInput(z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }), { name: 'no spaces allowed' });
    } catch (e) {
      err = e;
    }
    const form = applyError(emptyForm(), err, { fields: { name: 'Name' } });
    expect(form.errors['name']).toBe('Contains characters or a shape this field does not accept.');
    expect(form.errors['name']).not.toMatch(/[\^$[\]]/);
  });

  test("a schema's own message is kept, as a sentence", () => {
    let err: unknown;
    try {
      parseInput(z.object({ url: z.string().regex(/^https?:/, 'must be an http or https URL') }), { url: 'ftp://x' });
    } catch (e) {
      err = e;
    }
    expect(applyError(emptyForm(), err, { fields: { url: 'URL' } }).errors['url']).toBe('Must be an http or https URL.');
  });
});
