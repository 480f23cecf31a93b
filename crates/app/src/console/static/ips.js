// IP table: every address of the range, sortable by each column, a page
// at a time; the search box narrows to an address or a network.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const PAGE = 50;

  /** The search box as a filter term: an address or a network. */
  function searchTerm(q) {
    q = (q || '').trim();
    if (!q) return '';
    if (q.includes('/')) return 'net ' + q;
    return 'host ' + q;
  }

  const columns = [
    { label: 'Address', sort: 'addr', cls: 'key', value: (r) => el('a', { href: FL.ipHref(r.ip), class: 'mono' }, r.ip) },
    { label: 'Bytes', sort: 'bytes', num: true, value: (r) => FL.bytes(r.bytes_in + r.bytes_out) },
    { label: 'Received', sort: 'bytes_in', num: true, value: (r) => FL.bytes(r.bytes_in) },
    { label: 'Sent', sort: 'bytes_out', num: true, value: (r) => FL.bytes(r.bytes_out) },
    { label: 'Packets', sort: 'packets', num: true, value: (r) => FL.count(r.packets_in + r.packets_out) },
    { label: 'Flows', sort: 'flows', num: true, value: (r) => FL.count(r.flows_in + r.flows_out) },
    { label: 'Peers', sort: 'peers', num: true, value: (r) => FL.count(r.peers) },
    { label: 'First seen', sort: 'first_seen', value: (r) => FL.time(r.first_seen) },
    { label: 'Last seen', sort: 'last_seen', value: (r) => FL.time(r.last_seen) },
  ];

  async function load() {
    const p = FL.params();
    const sort = p.get('sort') || 'bytes';
    const direction = p.get('direction') || (sort === 'addr' ? 'asc' : 'desc');
    const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
    const filter = FL.andFilter(p.get('filter') || '', searchTerm(p.get('q')));
    const target = $('#ips');
    try {
      const r = await api('/api/v1/ips', FL.query({ filter, sort, direction, limit: PAGE, offset }));
      FL.banner(null);
      const onSort = (key) => {
        const dir = key === sort ? (direction === 'asc' ? 'desc' : 'asc') : key === 'addr' ? 'asc' : 'desc';
        FL.setParams({ sort: key, direction: dir, offset: null });
        load();
      };
      fill(target, FL.table(columns, r.ips, { sort, direction, onSort, empty: 'No addresses in this range' + (filter ? ' for this filter.' : '.') }));
      fill($('#ips-title'), FL.count(r.total) + (r.total === 1 ? ' address' : ' addresses'));
      pager(offset, r.ips.length, r.total);
      FL.done();
    } catch (e) {
      FL.fail(e, target);
    }
  }

  function pager(offset, shown, total) {
    const go = (o) => {
      FL.setParams({ offset: o || null });
      load();
    };
    const prev = el('button', { type: 'button', id: 'prev', onclick: () => go(Math.max(0, offset - PAGE)) }, '‹ Previous');
    prev.disabled = offset === 0;
    const next = el('button', { type: 'button', id: 'next', onclick: () => go(offset + PAGE) }, 'Next ›');
    next.disabled = offset + shown >= total;
    const range = shown ? FL.count(offset + 1) + '–' + FL.count(offset + shown) + ' of ' + FL.count(total) : '';
    fill($('#pager'), el('span', null, range), prev, next);
  }

  window.addEventListener('popstate', load);
  load();
})();
