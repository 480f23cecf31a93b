// Flow explorer: the stored flows matching the filter, a page at a time
// (the API's cursors), with a column chooser and CSV/JSON downloads.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const PAGE = 100;
  /** Most flows one download fetches (the API's largest page). */
  const DOWNLOAD_MAX = 10000;
  const COLUMNS = [
    ['time_start', 'Start', (f) => FL.time(f.time_start)],
    ['time_end', 'End', (f) => FL.time(f.time_end)],
    ['time_received', 'Received', (f) => FL.time(f.time_received)],
    ['exporter', 'Exporter', (f) => el('span', { class: 'mono' }, f.exporter)],
    ['protocol', 'Export protocol', (f) => f.protocol],
    ['in_if', 'In if', (f) => (f.in_if == null ? '' : el('span', { title: f.in_if_name || '' }, String(f.in_if)))],
    ['in_if_name', 'In interface', (f) => f.in_if_name],
    ['out_if', 'Out if', (f) => (f.out_if == null ? '' : el('span', { title: f.out_if_name || '' }, String(f.out_if)))],
    ['out_if_name', 'Out interface', (f) => f.out_if_name],
    ['src_addr', 'Source', (f) => FL.dimNode('src_addr', f.src_addr)],
    ['src_port', 'Src port', (f) => f.src_port],
    ['dst_addr', 'Destination', (f) => FL.dimNode('dst_addr', f.dst_addr)],
    ['dst_port', 'Dst port', (f) => FL.port(f.dst_port)],
    ['proto', 'Proto', (f) => FL.proto(f.proto)],
    ['tcp_flags', 'Flags', (f) => el('span', { class: 'mono' }, FL.flags(f.tcp_flags))],
    ['bytes', 'Bytes', (f) => FL.bytes(f.bytes), true],
    ['packets', 'Packets', (f) => FL.count(f.packets), true],
    ['src_as', 'Src AS', (f) => (f.src_as == null ? '' : el('span', { title: f.src_as_name || '' }, 'AS' + f.src_as))],
    ['src_as_name', 'Src AS name', (f) => f.src_as_name],
    ['dst_as', 'Dst AS', (f) => (f.dst_as == null ? '' : el('span', { title: f.dst_as_name || '' }, 'AS' + f.dst_as))],
    ['dst_as_name', 'Dst AS name', (f) => f.dst_as_name],
    ['src_country', 'Src country', (f) => f.src_country],
    ['dst_country', 'Dst country', (f) => f.dst_country],
    ['src_city', 'Src city', (f) => f.src_city],
    ['dst_city', 'Dst city', (f) => f.dst_city],
    ['src_net', 'Src network', (f) => f.src_net],
    ['dst_net', 'Dst network', (f) => f.dst_net],
    ['src_env', 'Src env', (f) => f.src_env],
    ['dst_env', 'Dst env', (f) => f.dst_env],
    ['src_dc', 'Src DC', (f) => f.src_dc],
    ['dst_dc', 'Dst DC', (f) => f.dst_dc],
    ['src_internal', 'Src inside', (f) => (f.src_internal == null ? '' : f.src_internal ? 'internal' : 'external')],
    ['dst_internal', 'Dst inside', (f) => (f.dst_internal == null ? '' : f.dst_internal ? 'internal' : 'external')],
    ['next_hop', 'Next hop', (f) => el('span', { class: 'mono' }, f.next_hop)],
    ['tos', 'ToS', (f) => f.tos],
    ['sampling_rate', 'Sampling', (f) => (f.sampling_rate ? '1:' + f.sampling_rate : '')],
    ['direction', 'Direction', (f) => f.direction],
    ['src_vlan', 'VLAN', (f) => f.src_vlan],
  ];
  const DEFAULT = ['time_end', 'exporter', 'src_addr', 'src_port', 'dst_addr', 'dst_port', 'proto', 'tcp_flags', 'bytes', 'packets'];

  function chosen() {
    const c = FL.params().get('cols');
    const want = c ? c.split(',') : DEFAULT;
    const cols = COLUMNS.filter(([k]) => want.includes(k));
    return cols.length ? cols : COLUMNS.filter(([k]) => DEFAULT.includes(k));
  }

  function chooser() {
    const on = new Set(chosen().map(([k]) => k));
    fill(
      $('#column-list'),
      COLUMNS.map(([k, label]) => {
        const box = el('input', { type: 'checkbox', value: k });
        box.checked = on.has(k);
        box.addEventListener('change', () => {
          const keep = FL.$$('#column-list input:checked').map((b) => b.value);
          FL.setParams({ cols: keep.join(',') === DEFAULT.join(',') ? null : keep.join(',') }, false);
          render();
        });
        return el('label', null, box, label);
      })
    );
  }

  let page = null;
  // Cursors of the pages before this one, for "Previous".
  let back = [];

  function render() {
    if (!page) return;
    const cols = chosen().map(([k, label, value, num]) => ({ label, value, num: num || /port|_if|_as|tos|vlan/.test(k) }));
    fill($('#flows'), FL.table(cols, page.flows, { empty: 'No flows match in this range.' }));
  }

  async function load(cursor) {
    const p = FL.params();
    try {
      page = await api('/api/v1/flows', FL.query({ order: p.get('order') || 'time', limit: PAGE, cursor }));
      FL.banner(null);
      FL.filterError(null);
      render();
      fill($('#flows-title'), page.flows.length ? 'Flows ' + FL.count(back.length * PAGE + 1) + '–' + FL.count(back.length * PAGE + page.flows.length) : 'Flows');
      const prev = el('button', { type: 'button', id: 'prev', onclick: () => load(back.pop() || undefined) }, '‹ Newer');
      prev.disabled = back.length === 0;
      const next = el('button', { type: 'button', id: 'next', onclick: () => { back.push(cursor || ''); load(page.next); } }, 'Older ›');
      next.disabled = !page.next;
      if ((p.get('order') || 'time') !== 'time') {
        prev.textContent = '‹ Previous';
        next.textContent = 'Next ›';
      }
      fill($('#pager'), prev, next);
      FL.done();
    } catch (e) {
      FL.fail(e, $('#flows'));
    }
  }

  // ---- downloads: the whole result up to DOWNLOAD_MAX flows
  const csvCell = (v) => {
    if (v == null) return '';
    const s = String(v);
    // Quote, and keep spreadsheet formulas from running (=, +, -, @).
    const safe = /^[=+\-@\t\r]/.test(s) ? "'" + s : s;
    return /[",\n\r']/.test(safe) ? '"' + safe.replace(/"/g, '""') + '"' : safe;
  };
  async function download(kind, button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Fetching…';
    try {
      const r = await api('/api/v1/flows', FL.query({ order: FL.params().get('order') || 'time', limit: DOWNLOAD_MAX }));
      let blob;
      if (kind === 'json') {
        blob = new Blob([JSON.stringify(r.flows, null, 1)], { type: 'application/json' });
      } else {
        const keys = COLUMNS.map(([k]) => k);
        const lines = [keys.join(',')].concat(r.flows.map((f) => keys.map((k) => csvCell(f[k])).join(',')));
        blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
      }
      const a = el('a', { href: URL.createObjectURL(blob), download: 'flowlens-flows.' + kind });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      if (r.next) FL.banner('The download holds the first ' + FL.count(DOWNLOAD_MAX) + ' flows; narrow the filter or range for the rest.');
    } catch (e) {
      FL.fail(e);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }
  $('#dl-csv').addEventListener('click', (e) => download('csv', e.currentTarget));
  $('#dl-json').addEventListener('click', (e) => download('json', e.currentTarget));

  chooser();
  load();
})();
