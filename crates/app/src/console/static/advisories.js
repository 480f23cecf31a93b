// Advisories: open or resolved, most severe first, each with its evidence.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  function item(a) {
    return el(
      'article',
      { class: 'advisory sev-border-' + a.severity },
      el('div', { class: 'advisory-head' }, FL.severity(a.severity), el('h3', { text: a.title }), el('span', { class: 'muted', text: a.analyzer.replace(/_/g, ' ') })),
      el('p', { class: 'advisory-text', text: a.description }),
      el('p', { class: 'advisory-action' }, el('strong', { text: 'What to do: ' }), a.action),
      el(
        'p',
        { class: 'advisory-meta muted' },
        'First seen ' + FL.unix(a.first_seen) + ' · last seen ' + FL.unix(a.last_seen),
        a.resolved ? ' · resolved ' + FL.unix(a.resolved) : '',
        ' · ',
        el('a', { href: a.evidence }, 'Show the evidence →')
      )
    );
  }
  async function load() {
    const p = FL.params();
    try {
      const r = await api('/api/v1/advisories', { state: p.get('state') || 'active', severity: p.get('severity') || '', limit: 200 });
      FL.banner(null);
      const list = r.advisories;
      fill(
        $('#advisory-list'),
        list.length
          ? list.map(item)
          : el('div', { class: 'empty', text: (p.get('state') || 'active') === 'active' ? 'No open advisories: nothing unusual in recent traffic.' : 'No advisories.' })
      );
      FL.done();
    } catch (e) {
      FL.fail(e, $('#advisory-list'));
    }
  }
  for (const s of ['#state', '#severity']) {
    $(s).addEventListener('change', () => {
      FL.setParams({ state: $('#state').value, severity: $('#severity').value }, true);
      load();
    });
  }
  FL.every(15000, load);
})();
