/** The sub-pages of an extension, in the order a developer works through them. */
export type ExtensionTab = 'setup' | 'actions' | 'gateway' | 'users' | 'webhooks' | 'console';

export function extensionTabs(extensionId: string, active: ExtensionTab): Array<{ href: string; label: string; short: string; active: boolean }> {
  const base = `/admin/extensions/${extensionId}`;
  return [
    { href: base, label: 'Setup', short: 'Setup', active: active === 'setup' },
    { href: `${base}/actions`, label: 'Action methods', short: 'Actions', active: active === 'actions' },
    { href: `${base}/gateway`, label: 'Gateway', short: 'Gateway', active: active === 'gateway' },
    { href: `${base}/users`, label: 'Linked users', short: 'Users', active: active === 'users' },
    { href: `${base}/webhooks`, label: 'Webhooks', short: 'Hooks', active: active === 'webhooks' },
    { href: `${base}/console`, label: 'Test console', short: 'Console', active: active === 'console' },
  ];
}
