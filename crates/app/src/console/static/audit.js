// Audit log (admins): newest first, filtered by action and actor, paged.
(function () {
  'use strict';
  const { $, el, fill } = FL;
  const p = FL.params();
  let rows = [];
  let next = null;
  async function load(more) {
    try {
      const r = await FL.api('/api/v1/audit', {
        action: p.get('action'),
        actor: p.get('actor'),
        limit: 200,
        before: more ? next : null,
      });
      rows = more ? rows.concat(r.entries) : r.entries;
      next = r.next;
      fill(
        $('#audit-list'),
        FL.table(
          [
            { label: 'When', value: (e) => FL.unix(e.at) },
            { label: 'Who', value: (e) => e.actor },
            { label: 'From', value: (e) => e.source },
            { label: 'Action', value: (e) => el('code', { text: e.action }) },
            { label: 'On', value: (e) => e.target },
            { label: 'Outcome', value: (e) => el('span', { class: 'outcome outcome-' + e.outcome, text: e.outcome }) },
            { label: 'Detail', cls: 'detail', value: (e) => e.detail },
          ],
          rows,
          { empty: 'Nothing recorded.' }
        )
      );
      $('#audit-more').hidden = next == null;
    } catch (e) {
      FL.fail(e, $('#audit-list'));
    }
    FL.done();
  }
  $('#audit-more').addEventListener('click', () => load(true));
  load(false);
})();
