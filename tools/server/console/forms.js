// Recording forms, generated from GET /v1/schema: one form per event type,
// its fields, types, enums and required flags as the server derives them
// from the Cap'n Proto schema. No form is written by hand for a type.
// The server judges; its refusals are shown in French with their rule.
import { api, state, el, errorBox, L, uuid, today } from './api.js';

let counter = 0;
const nextId = (name) => 'f' + (++counter) + '-' + name;

// One input per field; returns { node, read() } where read() gives the JSON
// value, or undefined for an empty optional field.
function control(type, f) {
  const id = nextId(f.name);
  const label = L.field(type, f.name);
  const hints = [];
  if (!f.required) hints.push('facultatif');
  if (f.requiredIf) hints.push('obligatoire si « ' + L.field(type, f.requiredIf.field) + ' » vaut « ' +
    L.value('', f.requiredIf.value) + ' »');
  if (f.min !== undefined && f.max !== undefined) hints.push('de ' + f.min + ' à ' + f.max);
  else if (f.min !== undefined) hints.push('au moins ' + f.min);
  if (f.personal) hints.push('donnée personnelle, chiffrée');
  if (f.type === 'uuid') hints.push('identifiant (UUID) d\'une information déjà enregistrée');
  if (/Cents$/.test(f.name)) hints.push('en centimes');
  const hint = hints.length ? el('span', { class: 'hint', id: id + '-hint' }, hints.join(' ; ')) : null;
  const described = hint ? id + '-hint' : null;
  const req = f.required && f.type !== 'boolean';
  let input, read;
  switch (f.type) {
    case 'boolean':
      input = el('input', { id, type: 'checkbox', name: f.name, 'aria-describedby': described });
      read = () => input.checked;
      return { node: el('div', { class: 'field inline' }, input, el('label', { for: id }, label), hint), read, f };
    case 'integer':
      input = el('input', { id, type: 'number', step: '1', name: f.name, min: f.min, max: f.max, required: req, 'aria-describedby': described });
      read = () => (input.value === '' ? undefined : Number(input.value));
      break;
    case 'date':
      input = el('input', { id, type: 'date', name: f.name, required: req, 'aria-describedby': described });
      read = () => input.value || undefined;
      break;
    case 'enum':
      input = el('select', { id, name: f.name, required: req, 'aria-describedby': described },
        el('option', { value: '' }, req ? '— choisir —' : '— aucun —'),
        f.values.map((v) => el('option', { value: v.value }, v.label)));
      read = () => input.value || undefined;
      break;
    case 'object': {
      const parts = f.fields.map((x) => control(type, x));
      const fs = el('fieldset', {}, el('legend', {}, label + (f.required ? '' : ' (facultatif)')), parts.map((p) => p.node));
      return { node: fs, read: () => collect(parts, !f.required), f };
    }
    case 'list': return listControl(type, f, label, hint);
    case 'correction':
      input = el('textarea', { id, name: f.name, rows: 4, required: req, 'aria-describedby': id + '-hint' });
      return { node: el('div', { class: 'field' }, el('label', { for: id }, label),
        el('span', { class: 'hint', id: id + '-hint' }, 'les champs corrigés, au format JSON, par exemple {"amountCents": 120000}'), input),
        read: () => { if (!input.value.trim()) return undefined; try { return JSON.parse(input.value); } catch (e) { return input.value; } }, f };
    default:
      input = el('input', { id, type: 'text', name: f.name, required: req, maxlength: f.maxBytes,
        pattern: f.bareId ? '[A-Za-z0-9_\\-]{1,64}' : null, 'aria-describedby': described });
      read = () => (input.value === '' ? undefined : input.value);
  }
  return { node: el('div', { class: 'field' }, el('label', { for: id }, label), hint, input), read, f };
}

function listControl(type, f, label, hint) {
  const items = f.items;
  if (items.type === 'enum') {
    const boxes = items.values.map((v) => {
      const id = nextId(f.name);
      const b = el('input', { id, type: 'checkbox', value: v.value });
      return { b, node: el('div', { class: 'field inline' }, b, el('label', { for: id }, v.label)) };
    });
    return { node: el('fieldset', {}, el('legend', {}, label), hint, boxes.map((x) => x.node)),
      read: () => boxes.filter((x) => x.b.checked).map((x) => x.b.value), f };
  }
  const rows = [];
  const box = el('div', {});
  const add = el('button', { type: 'button', class: 'secondary' }, 'Ajouter : ' + label);
  const addRow = () => {
    const parts = items.type === 'object' ? items.fields.map((x) => control(type, x)) : [control(type, { ...items, name: f.name, required: true })];
    const fs = el('fieldset', {}, el('legend', {}, label + ' n° ' + (rows.length + 1)), parts.map((p) => p.node));
    rows.push(parts);
    box.append(fs);
  };
  add.addEventListener('click', addRow);
  if (f.minItems) for (let i = 0; i < f.minItems; i++) addRow();
  return { node: el('fieldset', {}, el('legend', {}, label), hint, box, add),
    read: () => rows.map((parts) => (items.type === 'object' ? collect(parts, false) : parts[0].read())), f };
}

function collect(parts, optional) {
  const out = {};
  let any = false;
  for (const p of parts) {
    const v = p.read();
    if (v === undefined) continue;
    if (p.f.type !== 'boolean' || v) any = true;
    out[p.f.name] = v;
  }
  return optional && !any ? undefined : out;
}

function streamOf(subject) { return subject.slice(0, subject.indexOf('/')); }

export function eventForm(t, subject, onDone) {
  const out = el('div', { 'aria-live': 'polite' });
  const sid = nextId('subject'), did = nextId('effectiveDate'), vid = nextId('expectedVersion');
  const subj = el('input', { id: sid, required: true, value: subject || '', 'aria-describedby': sid + '-hint' });
  const eff = el('input', { id: did, type: 'date', required: true, value: today() });
  const ver = el('input', { id: vid, type: 'number', min: 0, step: 1, 'aria-describedby': vid + '-hint' });
  const parts = t.fields.map((f) => control(t.type, f));
  const form = el('form', { class: 'card', 'data-type': t.type },
    el('h2', {}, L.type(t.type)),
    el('div', { class: 'field' }, el('label', { for: sid }, L.field('', 'subject')),
      el('span', { class: 'hint', id: sid + '-hint' }, 'par exemple ' + (t.stream === 'dwelling' ? 'dwelling/D-RBX-001' : t.stream === 'territory' ? 'territory/lille' : 'household/H-0001')), subj),
    el('div', { class: 'field' }, el('label', { for: did }, L.field('', 'effectiveDate')), eff),
    parts.map((p) => p.node),
    el('div', { class: 'field' }, el('label', { for: vid }, 'version attendue du dossier'),
      el('span', { class: 'hint', id: vid + '-hint' }, 'facultatif : refusé si le dossier a changé entre-temps'), ver),
    el('button', { type: 'submit' }, 'Enregistrer'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { id: uuid(), type: t.type, subject: subj.value.trim(), effectiveDate: eff.value, data: collect(parts, false) };
    if (ver.value !== '') body.expectedVersion = Number(ver.value);
    const r = await api('/v1/events', { method: 'POST', body });
    if (r.status === 201 || r.status === 200) {
      const res = r.data && r.data.results ? r.data.results[0] : r.data;
      out.replaceChildren(el('div', { class: 'msg ok', role: 'status' }, 'Enregistré' +
        (res && res.position ? ' (n° ' + res.position + ' du journal, version ' + res.version + ' du dossier).' : '.')));
      if (onDone) onDone(body);
    } else {
      out.replaceChildren(errorBox(r));
    }
  });
  return form;
}

export async function recordPage(query) {
  const schema = state.schema;
  const subject = query.get('subject') || '';
  const title = 'Enregistrer une information';
  const types = schema.eventTypes.filter((t) => t.recordable && (!subject || t.stream === 'any' || t.stream === streamOf(subject)));
  const chosen = query.get('type') || '';
  const sel = el('select', { id: 'event-type' }, el('option', { value: '' }, '— choisir —'),
    types.map((t) => el('option', { value: t.type, selected: t.type === chosen }, t.label)));
  const holder = el('div', {});
  const show = () => {
    const t = schema.byType.get(sel.value);
    holder.replaceChildren(t ? eventForm(t, subject) : el('p', {}, 'Choisissez la nature de l\'information.'));
  };
  sel.addEventListener('change', show);
  show();
  return [title, [el('h1', {}, title),
    el('div', { class: 'field' }, el('label', { for: 'event-type' }, 'Nature de l\'information'), sel), holder]];
}
