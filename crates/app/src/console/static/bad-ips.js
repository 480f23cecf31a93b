// Sources whose attempts get no answer: scanners, dead services,
// misconfigured clients.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const cols = [
    { label: 'Source', cls: 'key', value: (r) => FL.dimNode('src_addr', r.ip) },
    { label: 'Unanswered attempts', num: true, value: (r) => FL.count(r.attempts) },
    { label: 'Targets', num: true, value: (r) => FL.count(r.targets) },
    { label: 'Ports', num: true, value: (r) => FL.count(r.ports) },
    { label: 'First seen', value: (r) => FL.time(r.first_seen) },
    { label: 'Last seen', value: (r) => FL.time(r.last_seen) },
    { label: '', value: (r) => el('a', { href: FL.href('/flows', { filter: 'src host ' + r.ip }) }, 'flows') },
  ];
  async function load() {
    const min = FL.params().get('min_attempts') || '';
    try {
      const r = await api('/api/v1/bad-ips', FL.query({ min_attempts: min, limit: 200 }));
      FL.banner(null);
      fill($('#bad-ips'), FL.table(cols, r.sources, { empty: 'No source went unanswered that often in this range.' }));
      FL.done();
    } catch (e) {
      FL.fail(e, $('#bad-ips'));
    }
  }
  FL.every(30000, load);
})();
