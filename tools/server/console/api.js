// The console's only way to data: the HTTP API under the session cookie
// (HttpOnly: this script never sees it). Every page reads through api(), so
// that what a role receives is exactly what the API gives that role.
// French words for the contract's names come from GET /v1/schema, which the
// server builds from its label catalogue.

export const state = { session: null, schema: null };

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.session && state.session.csrfToken) headers['X-CSRF-Token'] = state.session.csrfToken;
  }
  let r;
  try {
    r = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { status: 0, ok: false, data: { error: { code: 'network', message: String(e) } } };
  }
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = text; }
  }
  if (r.status === 401 && path !== '/v1/session') {
    state.session = null;
    window.dispatchEvent(new Event('relais-signed-out'));
  }
  return { status: r.status, ok: r.ok, data };
}

export async function loadSchema() {
  if (state.schema) return state.schema;
  const r = await api('/v1/schema');
  if (!r.ok) throw new Error('schéma indisponible');
  const s = r.data;
  s.byType = new Map(s.eventTypes.map((t) => [t.type, t]));
  state.schema = s;
  return s;
}

// Labels: the catalogue's French, falling back to the contract's name.
export const L = {
  type(t) { const e = state.schema && state.schema.byType.get(t); return e ? e.label : t; },
  field(type, f) {
    const m = state.schema ? state.schema.fields : {};
    return m[type + '.' + f] || m[f] || f;
  },
  value(en, v) {
    if (v === null || v === undefined) return '—';
    if (v === true || v === false) return L.bool(v);
    const m = state.schema ? state.schema.values : {};
    if (m[en + '.' + v]) return m[en + '.' + v];
    for (const k in m) if (k.endsWith('.' + v)) return m[k];
    return String(v);
  },
  refusal(code) { const m = state.schema ? state.schema.refusals : {}; return m[code] || code; },
  role(r) { const m = state.schema ? state.schema.roles : {}; return m[r] || r; },
  bool(b) { return b ? 'oui' : 'non'; },
};

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août',
  'septembre', 'octobre', 'novembre', 'décembre'];

// "2016-03-12" -> "12 mars 2016"; an instant -> "12 mars 2016 à 08 h 30 (UTC)".
export function frDate(iso) {
  if (!iso || typeof iso !== 'string') return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso);
  if (!m) return iso;
  const day = Number(m[3]);
  let out = (day === 1 ? '1er' : String(day)) + ' ' + MONTHS[Number(m[2]) - 1] + ' ' + m[1];
  if (m[4]) out += ' à ' + m[4] + ' h ' + m[5] + ' (UTC)';
  return out;
}

export function money(cents) {
  if (typeof cents !== 'number') return '—';
  return (cents / 100).toLocaleString('fr-FR', { style: 'currency', currency: 'EUR' });
}

// el('p', {class: 'x'}, 'text', child...): DOM without innerHTML, so that no
// datum is ever parsed as markup.
export function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (v === true) n.setAttribute(k, '');
    else n.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

// A refusal or error of the API, in French: the rule's label, then the code.
export function errorBox(r) {
  const err = r.data && r.data.error;
  if (!err) return el('div', { class: 'msg error', role: 'alert' }, 'Erreur ' + r.status + '.');
  let head = 'Refusé : ';
  if (r.status === 401) head = 'Non connecté : ';
  else if (r.status === 403) head = 'Accès refusé : ';
  else if (r.status === 404) head = 'Introuvable : ';
  else if (r.status >= 500) head = 'Erreur du serveur : ';
  const label = L.refusal(err.code);
  return el('div', { class: 'msg error', role: 'alert' },
    el('strong', {}, head + (label !== err.code ? label : err.message)),
    el('span', { class: 'rule' }, 'règle « ' + err.code + ' »' +
      (label !== err.code ? ' — détail technique : ' + err.message : '')));
}

export function subjectPath(subject, what) {
  return '/v1/streams/' + encodeURIComponent(subject) + '/' + what;
}

// asOf / knownAt from the page's pickers (knownAt read as UTC).
export function viewQuery(asOf, knownAt) {
  const q = new URLSearchParams();
  if (asOf) q.set('asOf', asOf);
  if (knownAt) q.set('knownAt', knownAt.length === 16 ? knownAt + ':00Z' : knownAt + 'Z');
  const s = q.toString();
  return s ? '?' + s : '';
}

export function uuid() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

export function today() { return new Date().toISOString().slice(0, 10); }
