// Account: who you are, your password, your API tokens.
(function () {
  'use strict';
  const { $, el, fill } = FL;

  async function loadMe() {
    try {
      const me = await FL.api('/api/v1/me');
      const scope = me.scope
        ? [
            me.scope.exporters.length ? 'exporters ' + me.scope.exporters.join(', ') : null,
            me.scope.networks.length ? 'networks ' + me.scope.networks.join(', ') : null,
          ].filter(Boolean).join('; ')
        : 'everything';
      fill(
        $('#me'),
        el('dl', { class: 'kv' },
          el('dt', { text: 'Name' }), el('dd', { id: 'me-name', text: me.name }),
          el('dt', { text: 'Role' }), el('dd', { id: 'me-role', text: me.role }),
          el('dt', { text: 'Sees' }), el('dd', { id: 'me-scope', text: scope }),
          el('dt', { text: 'Signed in by' }), el('dd', { text: me.via })
        )
      );
    } catch (e) {
      FL.fail(e, $('#me'));
    }
  }

  async function loadTokens() {
    const list = $('#token-list');
    if (!list) return;
    try {
      const r = await FL.api('/api/v1/tokens');
      fill(
        list,
        FL.table(
          [
            { label: 'Name', value: (t) => t.name },
            { label: 'Token', value: (t) => el('code', { text: t.prefix + '…' }) },
            { label: 'Permissions', value: (t) => (t.permissions.length ? t.permissions.join(', ') : 'API') },
            { label: 'Created', value: (t) => FL.unix(t.created) },
            { label: 'Last used', value: (t) => (t.last_used ? FL.unix(t.last_used) : 'never') },
            {
              label: '',
              value: (t) =>
                el('button', {
                  type: 'button',
                  class: 'link danger',
                  text: 'Revoke',
                  onclick: async () => {
                    if (!confirm('Revoke the token "' + t.name + '"? Scripts using it stop working.')) return;
                    try {
                      await FL.send('DELETE', '/api/v1/tokens/' + t.id);
                      await loadTokens();
                    } catch (e) {
                      FL.banner(e.message);
                    }
                  },
                }),
            },
          ],
          r.tokens,
          { empty: 'No tokens yet.' }
        )
      );
    } catch (e) {
      FL.fail(e, list);
    }
  }

  const tf = $('#token-form');
  if (tf)
    tf.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {
        name: tf.elements.name.value.trim(),
        permissions: [...tf.querySelectorAll('input[name=permissions]:checked')].map((b) => b.value),
      };
      const box = $('#token-secret');
      try {
        const t = await FL.send('POST', '/api/v1/tokens', body);
        fill(
          box,
          el('p', { class: 'ok', text: 'Copy the token now: it is not shown again.' }),
          el('pre', { id: 'new-token', class: 'secret', text: t.token })
        );
        box.hidden = false;
        tf.reset();
        await loadTokens();
      } catch (e) {
        fill(box, el('p', { class: 'error', text: e.message }));
        box.hidden = false;
      }
    });

  const pf = $('#password-form');
  if (pf)
    pf.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const note = $('#password-note');
      try {
        await FL.send('POST', '/api/v1/me/password', { current: pf.elements.current.value, new: pf.elements.new.value });
        pf.reset();
        note.className = 'note ok';
        note.textContent = 'Changed. Your other sessions were signed out.';
        // The session changed: the new CSRF token is on a fresh page.
        setTimeout(() => location.reload(), 1200);
      } catch (e) {
        note.className = 'note error';
        note.textContent = e.message;
      }
    });

  Promise.all([loadMe(), loadTokens()]).then(FL.done);
})();
