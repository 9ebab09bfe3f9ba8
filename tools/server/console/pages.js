// The caseload, the dwelling, the report and the search pages.
import { api, state, el, errorBox, L, frDate, money, subjectPath, viewQuery } from './api.js';

function bare(subject) { return subject.slice(subject.indexOf('/') + 1); }

export function pickers(asOf, knownAt, onApply) {
  const a = el('input', { id: 'asOf', type: 'date', value: asOf || '' });
  const k = el('input', { id: 'knownAt', type: 'datetime-local', step: '1', value: knownAt || '' });
  const form = el('form', { class: 'pickers', 'aria-label': 'Date de la vue' },
    el('div', { class: 'field' }, el('label', { for: 'asOf' }, 'au'),
      el('span', { class: 'hint' }, 'la situation à cette date'), a),
    el('div', { class: 'field' }, el('label', { for: 'knownAt' }, 'connu au'),
      el('span', { class: 'hint' }, 'ce qui était enregistré à cet instant (UTC)'), k),
    el('button', { type: 'submit' }, 'Afficher'),
    el('button', { type: 'button', class: 'secondary', onclick: () => onApply('', '') }, 'Aujourd\'hui'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); onApply(a.value, k.value); });
  return form;
}

function hashWith(base, asOf, knownAt) {
  const q = new URLSearchParams();
  if (asOf) q.set('asOf', asOf);
  if (knownAt) q.set('knownAt', knownAt);
  const s = q.toString();
  return base + (s ? '?' + s : '');
}

export async function caseloadPage(query) {
  const s = state.session;
  const territory = query.get('territory') || s.territory || 'lille';
  const cursor = query.get('cursor') || '';
  const needs = query.get('needsAction') === 'true';
  const q = new URLSearchParams({ territory, limit: '50' });
  if (cursor) q.set('cursor', cursor);
  if (needs) q.set('needsAction', 'true');
  const asOf = query.get('asOf') || '', knownAt = query.get('knownAt') || '';
  const vq = viewQuery(asOf, knownAt);
  const r = await api('/v1/caseload?' + q + (vq ? '&' + vq.slice(1) : ''));
  const title = 'Ménages suivis — ' + L.value('Territory', territory);
  const nodes = [el('h1', {}, title)];
  const go = (extra) => {
    const p = new URLSearchParams({ territory });
    for (const [k, v] of Object.entries(extra)) if (v) p.set(k, v);
    location.hash = '#/dossiers?' + p;
  };
  if (s.role === 'admin') {
    const sel = el('select', { id: 'territory' },
      ['lille', 'sud', 'flandres'].map((t) => el('option', { value: t, selected: t === territory }, L.value('Territory', t))));
    sel.addEventListener('change', () => { location.hash = '#/dossiers?territory=' + sel.value; });
    nodes.push(el('div', { class: 'field inline' }, el('label', { for: 'territory' }, 'Territoire'), sel));
  }
  nodes.push(pickers(asOf, knownAt, (a, k) => go({ asOf: a, knownAt: k, needsAction: needs ? 'true' : '' })));
  const only = el('input', { id: 'needs', type: 'checkbox', checked: needs });
  only.addEventListener('change', () => go({ needsAction: only.checked ? 'true' : '', asOf, knownAt }));
  nodes.push(el('div', { class: 'field inline' }, only, el('label', { for: 'needs' }, 'Seulement les ménages avec une action à mener')));
  if (!r.ok) return [title, [...nodes, errorBox(r)]];
  const c = r.data;
  nodes.push(el('p', {}, c.total + ' ménage(s) suivi(s) au ' + frDate(c.asOf) +
    (c.knownAt ? ', connu au ' + frDate(c.knownAt) : '') + ' ; ' + c.needingAction + ' avec une action à mener.'));
  const rows = c.households.map((h) => el('tr', {},
    el('th', { scope: 'row' }, el('a', { href: '#/menage/' + encodeURIComponent(bare(h.subject)) }, bare(h.subject))),
    el('td', {}, h.track ? L.value('Track', h.track) : '—'),
    el('td', {}, h.occupancy ? [el('a', { href: '#/logement/' + encodeURIComponent(h.occupancy.dwellingId) }, h.occupancy.dwellingId),
      ' — ' + L.value('Contract', h.occupancy.contract) + ', depuis le ' + frDate(h.occupancy.since)] : 'aucun'),
    el('td', {}, h.episode ? L.value('SupportKind', h.episode.kind) + ' (' + L.value('EpisodeStatus', h.episode.status) + ')' +
      (h.episode.lastReview ? ', dernier bilan le ' + frDate(h.episode.lastReview) : ', aucun bilan') : 'aucun'),
    el('td', {}, h.arrears ? money(h.arrears.amountCents) + ' depuis le ' + frDate(h.arrears.since) +
      (h.arrears.ccapexReferred ? ', CCAPEX saisie' : '') : 'aucune'),
    el('td', {}, L.value('ProcedureStage', h.procedureStage)),
    el('td', {}, h.actions.length ? el('ul', {}, h.actions.map((a) => el('li', {},
      el('span', { class: 'tag action' }, 'à faire'), L.value('CaseloadAction', a.code) + ' (depuis le ' + frDate(a.dueSince) + ')'))) : 'rien')));
  nodes.push(el('table', {},
    el('caption', {}, 'Ménages du territoire, par numéro de dossier'),
    el('thead', {}, el('tr', {}, ['Ménage', 'Objectif', 'Logement et contrat', 'Accompagnement', 'Dette de loyer',
      'Procédure', 'À faire'].map((t) => el('th', { scope: 'col' }, t)))),
    el('tbody', {}, rows)));
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages de la liste' });
  if (cursor) pager.append(el('a', { href: '#/dossiers?territory=' + territory + (needs ? '&needsAction=true' : '') }, 'Première page'));
  if (c.next) {
    const p = new URLSearchParams({ territory, cursor: c.next });
    if (needs) p.set('needsAction', 'true');
    if (asOf) p.set('asOf', asOf);
    if (knownAt) p.set('knownAt', knownAt);
    pager.append(el('a', { href: '#/dossiers?' + p }, 'Page suivante'));
  }
  nodes.push(pager);
  return [title, nodes];
}

export async function dwellingPage(id, query) {
  const subject = 'dwelling/' + id;
  const asOf = query.get('asOf') || '', knownAt = query.get('knownAt') || '';
  const vq = viewQuery(asOf, knownAt);
  const title = 'Logement ' + id;
  const nodes = [el('h1', {}, title),
    pickers(asOf, knownAt, (a, k) => { location.hash = hashWith('#/logement/' + encodeURIComponent(id), a, k); })];
  const [st, ten] = await Promise.all([api(subjectPath(subject, 'status') + vq), api(subjectPath(subject, 'tenancy') + vq)]);
  if (!st.ok) return [title, [...nodes, errorBox(st)]];
  const d = st.data;
  nodes.push(el('h2', {}, 'Situation'), el('dl', { class: 'facts' },
    el('dt', {}, L.field('', 'territory')), el('dd', {}, L.value('Territory', d.territory)),
    el('dt', {}, L.field('', 'typology')), el('dd', {}, L.value('Typology', d.typology)),
    el('dt', {}, L.field('', 'reserved')), el('dd', {}, L.bool(d.reserved))));
  nodes.push(el('h2', {}, 'Occupations'), el('table', {},
    el('caption', {}, 'Occupations du logement'),
    el('thead', {}, el('tr', {}, ['Ménage', 'Entrée', 'Sortie', 'Contrats'].map((t) => el('th', { scope: 'col' }, t)))),
    el('tbody', {}, (d.occupancies || []).map((o) => el('tr', {},
      el('td', {}, el('a', { href: '#/menage/' + encodeURIComponent(o.household) }, o.household)),
      el('td', {}, frDate(o.start)), el('td', {}, o.end ? frDate(o.end) : 'en cours'),
      el('td', {}, (o.contracts || []).map((c) => L.value('Contract', c.contract) + ' depuis le ' + frDate(c.from)).join(' ; ')))))));
  nodes.push(el('h2', {}, 'Historique de la location'));
  if (!ten.ok) nodes.push(errorBox(ten));
  else nodes.push(el('table', {},
    el('caption', {}, 'Informations du dossier de location, dans l\'ordre d\'enregistrement'),
    el('thead', {}, el('tr', {}, ['Date des faits', 'Enregistré le', 'Dossier', 'Information', 'Détails'].map((t) => el('th', { scope: 'col' }, t)))),
    el('tbody', {}, (ten.data.events || []).map((e) => el('tr', {},
      el('td', {}, frDate(e.effectiveDate)), el('td', {}, frDate(e.recordedAt)), el('td', {}, e.subject),
      el('td', {}, L.type(e.type)), el('td', {}, dataText(e.type, e.data)))))));
  return [title, nodes];
}

// An event's data as French words: "champ : valeur ; ...".
export function dataText(type, data) {
  if (!data || typeof data !== 'object') return '';
  const t = state.schema.byType.get(type);
  const fields = t ? t.fields : [];
  const parts = [];
  for (const [k, v] of Object.entries(data)) {
    const f = fields.find((x) => x.name === k);
    parts.push(L.field(type, k) + ' : ' + valueText(f, v));
  }
  return parts.join(' ; ');
}

function valueText(f, v) {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.map((x) => valueText(f && f.items ? { ...f.items, name: f.name } : null, x)).join(', ') || 'aucun';
  if (typeof v === 'object') {
    return Object.entries(v).map(([k, x]) => {
      const sub = f && f.fields ? f.fields.find((y) => y.name === k) : null;
      return L.field('', k) + ' ' + valueText(sub, x);
    }).join(', ');
  }
  if (f && f.type === 'enum') return L.value(f.enum, v);
  if (f && f.type === 'date') return frDate(v);
  if (f && f.name && /Cents$/.test(f.name)) return money(v);
  if (typeof v === 'boolean') return L.bool(v);
  return String(v);
}

export async function reportPage(query) {
  const asOf = query.get('asOf') || '', knownAt = query.get('knownAt') || '';
  const title = 'Rapport d\'évaluation';
  const src = '/v1/reports/indicators' + viewQuery(asOf, knownAt) + (viewQuery(asOf, knownAt) ? '&' : '?') + 'format=html';
  // The report's own page (its charts, its series), as the server renders it:
  // asked first, so that a refusal shows here in French instead of in the frame.
  const probe = await api('/v1/reports/indicators' + viewQuery(asOf, knownAt));
  const nodes = [el('h1', {}, title),
    pickers(asOf, knownAt, (a, k) => { location.hash = hashWith('#/rapport', a, k); })];
  if (!probe.ok) return [title, [...nodes, errorBox(probe)]];
  nodes.push(el('p', {}, el('a', { href: src, target: '_blank', rel: 'noopener' }, 'Ouvrir le rapport seul (pour l\'imprimer)')));
  nodes.push(el('iframe', { class: 'report', src, title: 'Rapport d\'évaluation : indicateurs et séries mensuelles' }));
  return [title, nodes];
}

export async function searchPage() {
  const title = 'Ouvrir un dossier';
  const kind = el('select', { id: 'kind' }, el('option', { value: 'menage' }, 'un ménage'), el('option', { value: 'logement' }, 'un logement'));
  const id = el('input', { id: 'sid', required: true, pattern: '[A-Za-z0-9_-]{1,64}', 'aria-describedby': 'sid-hint' });
  const form = el('form', { class: 'card' },
    el('div', { class: 'field' }, el('label', { for: 'kind' }, 'Dossier de'), kind),
    el('div', { class: 'field' }, el('label', { for: 'sid' }, 'Numéro du dossier'),
      el('span', { class: 'hint', id: 'sid-hint' }, 'par exemple H-0001 ou D-RBX-001'), id),
    el('button', { type: 'submit' }, 'Ouvrir'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = '#/' + kind.value + '/' + encodeURIComponent(id.value); });
  return [title, [el('h1', {}, title), form]];
}
