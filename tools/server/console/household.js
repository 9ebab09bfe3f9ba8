// The household page: its status at (D, T) and its timeline on both time
// axes (effective date, recorded at), each correction and retraction beside
// the event it changes.
import { api, state, el, errorBox, L, frDate, money, subjectPath, viewQuery } from './api.js';
import { pickers, dataText } from './pages.js';

const ENUM_OF = { territory: 'Territory', track: 'Track', source: 'ReferralSource', contract: 'Contract',
  kind: 'SupportKind', procedureStage: 'ProcedureStage', typology: 'Typology' };

function statusValue(key, v, parent) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return L.bool(v);
  if (key === 'status') return L.value(parent === 'episodes' ? 'EpisodeStatus' : parent === 'referrals' ? 'ReferralStatus' : 'ObjectiveStatus', v);
  if (ENUM_OF[key]) return L.value(ENUM_OF[key], v);
  if (/Cents$/.test(key)) return money(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) return frDate(v);
  if (Array.isArray(v)) {
    if (!v.length) return 'aucun';
    return el('ul', {}, v.map((x) => el('li', {}, statusValue(key, x, key))));
  }
  if (typeof v === 'object') {
    return el('dl', { class: 'facts' }, Object.entries(v).flatMap(([k, x]) =>
      [el('dt', {}, L.field('', k)), el('dd', {}, statusValue(k, x, key))]));
  }
  return String(v);
}

function statusBlock(st) {
  const skip = new Set(['subject', 'filtered']);
  return el('dl', { class: 'facts', id: 'status' }, Object.entries(st).filter(([k]) => !skip.has(k)).flatMap(([k, v]) =>
    [el('dt', {}, L.field('', k)), el('dd', {}, statusValue(k, v, ''))]));
}

// Rows: each original event, then its corrections and retractions.
function timelineRows(events, axis) {
  const fixes = new Map();
  const originals = [];
  for (const e of events) {
    if ((e.type === 'EventCorrected' || e.type === 'EventRetracted') && e.data && e.data.targetId) {
      if (!fixes.has(e.data.targetId)) fixes.set(e.data.targetId, []);
      fixes.get(e.data.targetId).push(e);
    } else {
      originals.push(e);
    }
  }
  const key = axis === 'recordedAt' ? (e) => e.recordedAt : (e) => e.effectiveDate + ' ' + String(e.position).padStart(12, '0');
  originals.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rows = [];
  const byId = new Map(events.map((e) => [e.id, e]));
  for (const e of originals) {
    const retracted = e.retractedBy && byId.has(e.retractedBy);
    const notes = [];
    if (e.correctedBy && e.correctedBy.length) notes.push('corrigée ' + e.correctedBy.length + ' fois (ci-dessous)');
    if (retracted) notes.push('annulée le ' + frDate(byId.get(e.retractedBy).recordedAt));
    rows.push(el('tr', { class: retracted ? 'retracted' : null, id: 'ev-' + e.id },
      el('td', {}, frDate(e.effectiveDate)), el('td', {}, frDate(e.recordedAt)),
      el('td', {}, L.type(e.type)), el('td', {}, dataText(e.type, e.data)),
      el('td', { class: 'note' }, notes.join(' ; '))));
    for (const f of fixes.get(e.id) || []) {
      const d = { ...f.data };
      delete d.targetId;
      const what = f.type === 'EventRetracted' ? 'Annulation' : 'Correction';
      const fixed = f.type === 'EventCorrected' && d.data ? dataText(e.type, d.data) : '';
      delete d.data;
      rows.push(el('tr', { class: 'fix' },
        el('td', {}, (f.data.effectiveDate ? 'nouvelle date : ' + frDate(f.data.effectiveDate) : frDate(f.effectiveDate))),
        el('td', {}, frDate(f.recordedAt)),
        el('td', {}, what + ' de l\'information ci-dessus'),
        el('td', {}, [fixed, dataText(f.type, Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'effectiveDate')))].filter(Boolean).join(' ; ')),
        el('td', { class: 'note' }, f.actor ? 'par ' + f.actor.id + ' (' + L.role(f.actor.role) + ')' : '')));
    }
  }
  // Corrections whose target this role does not see stay listed, alone.
  for (const [target, list] of fixes) {
    if (byId.has(target)) continue;
    for (const f of list) rows.push(el('tr', { class: 'fix' }, el('td', {}, frDate(f.effectiveDate)),
      el('td', {}, frDate(f.recordedAt)), el('td', {}, L.type(f.type)), el('td', {}, ''), el('td', { class: 'note' }, 'information d\'origine non visible')));
  }
  return rows;
}

const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

// Both axes at once: x the effective date, y the recording instant. An
// event recorded late sits high above the diagonal; a correction is a
// triangle joined to its original, a retraction a cross: shapes, not colours.
function chart(events) {
  if (!events.length) return el('p', {}, 'Aucune information enregistrée.');
  const W = 720, H = 320, P = 56;
  const xs = events.map((e) => Date.parse(e.effectiveDate)), ys = events.map((e) => Date.parse(e.recordedAt));
  const x0 = Math.min(...xs, ...ys), x1 = Math.max(...xs, ...ys) + 86400000;
  const sx = (t) => P + (t - x0) / (x1 - x0) * (W - 2 * P), sy = (t) => H - P + -(t - x0) / (x1 - x0) * (H - 2 * P);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title' });
  root.append(svg('title', { id: 'chart-title' }, 'Chaque information selon sa date des faits (horizontal) et sa date d\'enregistrement (vertical)'));
  root.append(svg('line', { x1: sx(x0), y1: sy(x0), x2: sx(x1), y2: sy(x1), stroke: '#8a8a8a', 'stroke-dasharray': '4 4' }));
  root.append(svg('line', { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#1a1a1a' }));
  root.append(svg('line', { x1: P, y1: P, x2: P, y2: H - P, stroke: '#1a1a1a' }));
  root.append(svg('text', { x: W / 2, y: H - 12, 'text-anchor': 'middle' }, 'date des faits'));
  root.append(svg('text', { x: 14, y: H / 2, transform: `rotate(-90 14 ${H / 2})`, 'text-anchor': 'middle' }, 'date d\'enregistrement'));
  root.append(svg('text', { x: P, y: H - P + 16 }, frDate(new Date(x0).toISOString().slice(0, 10))));
  root.append(svg('text', { x: W - P, y: H - P + 16, 'text-anchor': 'end' }, frDate(new Date(x1).toISOString().slice(0, 10))));
  const pos = new Map();
  events.forEach((e, i) => pos.set(e.id, [sx(xs[i]), sy(ys[i])]));
  events.forEach((e, i) => {
    const [x, y] = pos.get(e.id);
    const target = e.data && e.data.targetId && pos.get(e.data.targetId);
    if (target) root.append(svg('line', { x1: target[0], y1: target[1], x2: x, y2: y, stroke: '#4a4a4a' }));
    let mark;
    if (e.type === 'EventCorrected') mark = svg('path', { d: `M${x} ${y - 6}L${x + 6} ${y + 5}L${x - 6} ${y + 5}Z`, fill: '#fff', stroke: '#1a1a1a' });
    else if (e.type === 'EventRetracted') mark = svg('path', { d: `M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x - 5} ${y + 5}L${x + 5} ${y - 5}`, stroke: '#1a1a1a', 'stroke-width': 2 });
    else mark = svg('circle', { cx: x, cy: y, r: 4, fill: '#1a1a1a' });
    mark.append(svg('title', {}, L.type(e.type) + ' — faits du ' + frDate(e.effectiveDate) + ', enregistré le ' + frDate(e.recordedAt)));
    root.append(mark);
  });
  return el('figure', { class: 'chart' }, root,
    el('figcaption', {}, 'Rond : une information ; triangle : une correction, reliée à l\'information corrigée ; croix : une annulation. La diagonale en pointillés : enregistré le jour des faits.'));
}

export async function householdPage(id, query) {
  const subject = 'household/' + id;
  const asOf = query.get('asOf') || '', knownAt = query.get('knownAt') || '';
  const axis = query.get('ordre') === 'enregistrement' ? 'recordedAt' : 'effectiveDate';
  const vq = viewQuery(asOf, knownAt);
  const kq = viewQuery('', knownAt);
  const title = 'Ménage ' + id;
  const base = '#/menage/' + encodeURIComponent(id);
  const nodes = [el('h1', {}, title), pickers(asOf, knownAt, (a, k) => {
    const p = new URLSearchParams();
    if (a) p.set('asOf', a);
    if (k) p.set('knownAt', k);
    if (axis === 'recordedAt') p.set('ordre', 'enregistrement');
    location.hash = base + (p.toString() ? '?' + p : '');
  })];
  const [st, hi] = await Promise.all([api(subjectPath(subject, 'status') + vq), api(subjectPath(subject, 'events') + kq)]);
  if (!st.ok) return [title, [...nodes, errorBox(st)]];
  // The view's date: asOf, else the day of knownAt, else today (as the server reads it).
  const day = asOf || (knownAt ? knownAt.slice(0, 10) : new Date().toISOString().slice(0, 10));
  nodes.push(el('h2', {}, 'Situation au ' + frDate(day) +
    (knownAt ? ', connue au ' + frDate(knownAt + 'Z') : '')));
  if (st.data.filtered) nodes.push(el('p', { class: 'msg' }, 'Une partie de la situation n\'est pas visible avec votre fonction.'));
  nodes.push(statusBlock(st.data));
  if (state.session.role !== 'auditor' && state.session.role !== 'evaluator')
    nodes.push(el('p', {}, el('a', { href: '#/saisie?subject=' + encodeURIComponent(subject) }, 'Enregistrer une information pour ce ménage')));
  nodes.push(el('h2', {}, 'Chronologie'));
  if (!hi.ok) return [title, [...nodes, errorBox(hi)]];
  const events = hi.data.events || [];
  const link = (ordre) => {
    const p = new URLSearchParams();
    if (asOf) p.set('asOf', asOf);
    if (knownAt) p.set('knownAt', knownAt);
    p.set('ordre', ordre);
    return base + '?' + p;
  };
  const order = el('p', {}, 'Ordre : ',
    axis === 'effectiveDate' ? el('strong', {}, 'par date des faits') : el('a', { href: link('faits') }, 'par date des faits'),
    ' | ',
    axis === 'recordedAt' ? el('strong', {}, 'par date d\'enregistrement') : el('a', { href: link('enregistrement') }, 'par date d\'enregistrement'));
  if (hi.data.filtered) nodes.push(el('p', { class: 'msg' }, 'Certaines informations ne sont pas visibles avec votre fonction.'));
  nodes.push(chart(events), order, el('table', { id: 'timeline' },
    el('caption', {}, 'Informations enregistrées' + (knownAt ? ' connues au ' + frDate(knownAt + 'Z') : '')),
    el('thead', {}, el('tr', {}, ['Date des faits', 'Enregistré le', 'Information', 'Détails', 'Remarque'].map((t) => el('th', { scope: 'col' }, t)))),
    el('tbody', {}, timelineRows(events, axis))));
  return [title, nodes];
}
