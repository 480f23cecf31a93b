// Exporters: what each router sends (rates, sampling, templates, errors,
// sequence gaps); a click shows its interfaces with traffic each way.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  let selected = FL.params().get('exporter');

  const sum = (o) => Object.values(o || {}).reduce((a, n) => a + n, 0);
  const errorsText = (o) =>
    Object.entries(o || {})
      .map(([k, n]) => k + ': ' + n)
      .join(', ');

  const cols = [
    { label: 'Exporter', cls: 'key', value: (r) => el('span', null, el('span', { class: 'mono' }, r.address), r.name ? el('span', { class: 'dim' }, ' ' + r.name) : null) },
    { label: 'Protocols', value: (r) => (r.protocols.length ? r.protocols.join(', ') : el('span', { class: 'dim', text: 'not heard since start' })) },
    { label: 'Traffic', num: true, value: (r) => FL.bps(r.bits_per_second) },
    { label: 'Flows/s', num: true, value: (r) => FL.si(r.flows_per_second, '') },
    { label: 'Sampling', num: true, value: (r) => (r.sampling_rate ? '1:' + r.sampling_rate : '–') },
    { label: 'Datagrams', num: true, value: (r) => FL.count(r.datagrams) },
    { label: 'Templates', num: true, value: (r) => FL.count(r.templates) },
    { label: 'Sequence gaps', num: true, title: 'Records the exporter numbered but never arrived', value: (r) => (r.sequence_lost ? el('span', { class: 'error-text', text: FL.count(r.sequence_lost) }) : '0') },
    { label: 'Errors', num: true, value: (r) => (sum(r.errors) ? el('span', { title: errorsText(r.errors), text: FL.count(sum(r.errors)) }) : '0') },
    { label: 'Last seen', value: (r) => FL.time(r.last_seen) },
  ];

  async function interfaces(addr) {
    $('#detail').hidden = false;
    fill($('#detail-title'), 'Interfaces of ' + addr);
    fill($('#interfaces'), el('div', { class: 'loading', text: 'Loading…' }));
    try {
      const r = await api('/api/v1/exporters/' + encodeURIComponent(addr), FL.query());
      const secs = Math.max(1, (new Date(r.range.until) - new Date(r.range.since)) / 1000);
      const util = (p) => (p == null ? '' : FL.bar(Math.min(1, p / 100), p.toFixed(p < 10 ? 1 : 0) + '%'));
      const ifCols = [
        { label: 'Index', num: true, value: (i) => (i.index == null ? '(none)' : String(i.index)) },
        { label: 'Name', value: (i) => el('span', { class: 'mono', title: i.description || '' }, i.name || '') },
        { label: 'Description', value: (i) => i.description || '' },
        { label: 'Speed', num: true, value: (i) => (i.speed_bps ? FL.bps(i.speed_bps) : '') },
        { label: 'Boundary', value: (i) => [i.boundary, i.connectivity, i.provider].filter(Boolean).join(' · ') },
        { label: 'In', num: true, value: (i) => FL.bps((i.in.bytes * 8) / secs) },
        { label: 'In use', num: true, value: (i) => util(i.utilisation_in_percent) },
        { label: 'In bytes', num: true, value: (i) => FL.bytes(i.in.bytes) },
        { label: 'In flows', num: true, value: (i) => FL.count(i.in.flows) },
        { label: 'Out', num: true, value: (i) => FL.bps((i.out.bytes * 8) / secs) },
        { label: 'Out use', num: true, value: (i) => util(i.utilisation_out_percent) },
        { label: 'Out bytes', num: true, value: (i) => FL.bytes(i.out.bytes) },
        { label: 'Out flows', num: true, value: (i) => FL.count(i.out.flows) },
        { label: '', value: (i) => (i.index == null ? '' : el('a', { href: FL.href('/flows', { filter: 'exporter ' + addr + ' and (in if ' + i.index + ' or out if ' + i.index + ')' }) }, 'flows')) },
      ];
      const domains = Object.entries(r.domains || {});
      fill(
        $('#interfaces'),
        FL.table(ifCols, r.interfaces || [], { empty: 'No flows of this exporter in the range.' }),
        domains.length
          ? el('p', { class: 'hint' }, 'Observation domains: ' + domains.map(([d, s]) => d + ' (' + FL.count(s.flows) + ' flows, ' + FL.count(s.sequence_lost) + ' lost)').join('; '))
          : null
      );
    } catch (e) {
      FL.fail(e, $('#interfaces'));
    }
  }

  async function load() {
    try {
      const r = await api('/api/v1/exporters', FL.query());
      FL.banner(null);
      FL.empty(!r.exporters.length);
      fill(
        $('#exporters'),
        FL.table(cols, r.exporters, {
          empty: 'No exporter yet.',
          rowClick: (row, tr) => {
            selected = row.address;
            FL.$$('#exporters tr.selected').forEach((x) => x.classList.remove('selected'));
            tr.classList.add('selected');
            FL.setParams({ exporter: selected }, false);
            interfaces(selected);
          },
        })
      );
      if (selected && r.exporters.some((x) => x.address === selected)) interfaces(selected);
      FL.done();
    } catch (e) {
      FL.fail(e, $('#exporters'));
    }
  }
  FL.every(30000, load);
})();
