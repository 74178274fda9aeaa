// The approval console: plain DOM, no framework, no build step. Talks only to /api/v1 with the
// session token from the login (kept in sessionStorage: gone when the tab closes).
/* global document, sessionStorage, fetch, setInterval, clearInterval */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; };
  const iso = (ms) => (ms ? new Date(ms).toISOString().replace('.000Z', 'Z') : '');
  let token = sessionStorage.getItem('cw-token');
  let me = null;
  let selected = null;
  let timer = null;

  const say = (text, kind) => {
    const m = $('message');
    m.textContent = text; m.className = kind || ''; m.hidden = !text;
  };

  const api = async (method, url, body) => {
    const res = await fetch(url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401 && url !== '/api/v1/login') { logout(false); throw new Error(data.message || 'Logged out.'); }
    if (!res.ok) throw new Error(data.message || `${res.status}`);
    return data;
  };

  const showApp = (on) => { $('login').hidden = on; $('app').hidden = !on; $('who').hidden = !on; };

  const logout = (callApi) => {
    if (callApi && token) api('POST', '/api/v1/logout').catch(() => {});
    token = null; me = null; selected = null;
    sessionStorage.removeItem('cw-token');
    clearInterval(timer);
    showApp(false);
  };

  const renderQueue = (list) => {
    const ul = $('queue');
    ul.replaceChildren(...list.map((p) => {
      const li = el('li', p.id === selected ? 'selected' : '');
      li.dataset.id = p.id;
      li.append(el('span', 'c', p.conduit), el('span', `s state ${p.state}`, p.state), el('div', 'hint', `${p.proposer.displayName} · ${iso(p.proposedAt)}`));
      li.addEventListener('click', () => { selected = p.id; say(''); refresh(); });
      return li;
    }));
    $('queue-empty').hidden = list.length > 0;
  };

  const can = (perm) => me && me.permissions.includes(perm);

  const renderDetail = (p) => {
    $('detail').hidden = !p;
    if (!p) return;
    $('d-conduit').textContent = p.conduit;
    const st = $('state'); st.textContent = p.state; st.className = `state ${p.state}`;
    $('d-id').textContent = p.id;
    $('d-rule').textContent = p.ruleHash;
    $('d-proposer').textContent = `${p.proposer.displayName} (${p.proposer.account}) at ${iso(p.proposedAt)}: ${p.proposeReason}`;
    $('d-readiness').textContent = `${p.readiness.ready ? 'ready' : 'NOT ready'}: ${p.readiness.summary}`;
    const w = p.whatif;
    $('d-whatif').textContent = w
      ? `${w.flowsBlocked} of ${w.flowsEvaluated} stored flows would have been blocked (${iso(w.from)} – ${iso(w.to)}); ${w.promotable ? 'promotable' : `not promotable: ${w.reasons.join('; ')}`}`
      : (p.whatifError || 'running…');
    $('d-approval').textContent = p.approval ? `${p.approval.displayName} (${p.approval.account}) at ${iso(p.approval.at)}: ${p.approval.reason}` : (p.rejection ? `rejected by ${p.rejection.displayName}: ${p.rejection.reason}` : '—');
    $('d-window').textContent = p.schedule ? `${p.schedule.name}: ${iso(p.schedule.opensAt)} – ${iso(p.schedule.closesAt)}` : '—';

    const blocked = (w && w.blocked) || [];
    $('blocked-box').hidden = blocked.length === 0;
    $('blocked').tBodies[0].replaceChildren(...blocked.map((f) => {
      const tr = el('tr');
      for (const v of [f.src, f.dst, `${f.proto}/${f.dstPort}`, [f.l7, f.op].filter(Boolean).join(' '), iso(f.tsStart), f.reason]) tr.append(el('td', '', v ?? ''));
      return tr;
    }));

    $('decide').hidden = !(p.state === 'review' && can('approve'));
    const live = ['scheduled', 'applying', 'watching', 'rolling_back'].includes(p.state);
    $('abort-box').hidden = !(live && can('abort'));
    $('watch').hidden = !p.watch;
    if (p.watch) {
      const left = Math.max(0, p.watch.until - Date.now());
      $('watch-status').textContent = p.state === 'watching'
        ? `Rule live since ${iso(p.watch.appliedAt)}; ${p.watch.ticks} checks clean; ${p.watch.alerts ?? 0} alerts; ${Math.ceil(left / 1000)} s of watch left.`
        : `Watched from ${iso(p.watch.appliedAt)}: ${p.watch.ticks} checks.`;
      const r = p.watch.lastReading || { accepted: {}, dropped: {} };
      $('counters').tBodies[0].replaceChildren(...p.edges.map((e) => {
        const tr = el('tr');
        tr.append(el('td', '', e.label), el('td', '', r.accepted[e.key] ?? 0), el('td', '', r.dropped[e.key] ?? 0));
        return tr;
      }));
    }
    const o = $('outcome');
    o.hidden = !p.outcome || !['confirmed', 'rolled_back', 'rejected', 'cancelled', 'rolling_back'].includes(p.state);
    if (p.outcome) {
      o.className = `panel ${p.outcome.state}`;
      const t = p.outcome.trip;
      o.textContent = p.state === 'confirmed'
        ? `Confirmed at ${iso(p.outcome.at)}: no abort criterion tripped; the rule stays live.`
        : p.state === 'rolled_back' || p.state === 'rolling_back'
          ? `${p.state === 'rolled_back' ? 'Rolled back' : 'Rolling back'}: ${t ? `${t.criterion} — ${t.message}` : ''}. The known-good ruleset is ${p.state === 'rolled_back' ? 'restored' : 'being restored'}.`
          : `${p.state}: ${p.outcome.note || ''}`;
    }
    $('history').replaceChildren(...p.history.map((h) => el('li', '', `${iso(h.at)} ${h.state} — ${h.actor}${h.note ? `: ${h.note}` : ''}`)));
  };

  const refresh = async () => {
    try {
      const { promotions } = await api('GET', '/api/v1/promotions');
      if (!selected && promotions.length) selected = promotions[0].id;
      renderQueue(promotions);
      renderDetail(selected ? await api('GET', `/api/v1/promotions/${encodeURIComponent(selected)}`) : null);
    } catch (e) {
      if (token) say(e.message);
    }
  };

  const act = async (what, body) => {
    try {
      await api('POST', `/api/v1/promotions/${encodeURIComponent(selected)}/${what}`, body);
      say(`${what}: done`, 'info');
    } catch (e) {
      say(`${what} refused: ${e.message}`);
    }
    await refresh();
  };

  const start = async () => {
    try {
      me = await api('GET', '/api/v1/me');
    } catch {
      logout(false);
      return;
    }
    $('who-name').textContent = `${me.displayName} (${me.account})`;
    $('who-roles').textContent = me.roles.join(', ');
    showApp(true);
    await refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 1000);
  };

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api('POST', '/api/v1/login', { account: $('login-account').value.trim(), password: $('login-password').value });
        token = r.token;
        sessionStorage.setItem('cw-token', token);
        $('login-password').value = '';
        say('');
        await start();
      } catch (e) {
        say(e.message);
      }
    });
    $('logout').addEventListener('click', () => logout(true));
    $('approve').addEventListener('click', () => act('approve', {
      reason: $('approve-reason').value,
      criteria: { watch: $('c-watch').value, interval: $('c-interval').value, alertCount: Number($('c-alerts').value), alertWithin: $('c-within').value },
    }));
    $('reject').addEventListener('click', () => act('reject', { reason: $('approve-reason').value }));
    $('abort').addEventListener('click', () => act('abort', { reason: $('abort-reason').value }));
    if (token) start();
  });
})();
