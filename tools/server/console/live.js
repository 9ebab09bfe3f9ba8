// The live page: the log as it grows, through EventSource on /v1/feed. The
// session cookie authenticates the stream (EventSource cannot send an
// Authorization header); the server filters each event by the role.
import { el, L, frDate } from './api.js';
import { dataText } from './pages.js';

let source = null;
const SHOWN_MAX = 200;  // the page keeps the latest events only

export function stopLive() {
  if (source) source.close();
  source = null;
}

export async function livePage() {
  const title = 'En direct';
  const status = el('p', { id: 'live-status', role: 'status' }, 'Connexion au fil…');
  const list = el('ol', { id: 'live-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  // Start at the head: the latest signed checkpoint gives its size (public).
  let from = 1;
  const cp = await fetch('/v1/checkpoint', { credentials: 'same-origin', cache: 'no-store' });
  if (cp.ok) {
    const size = Number((await cp.text()).split('\n')[1]);
    if (Number.isFinite(size)) from = size + 1;
  }
  stopLive();
  source = new EventSource('/v1/feed?from=' + from);
  source.addEventListener('open', () => { status.textContent = 'Connecté : les nouvelles informations s\'affichent ici dès leur enregistrement.'; });
  source.addEventListener('error', () => { status.textContent = 'Fil interrompu : nouvelle tentative…'; });
  source.addEventListener('message', (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch (err) { return; }
    const bare = e.subject.slice(e.subject.indexOf('/') + 1);
    const link = e.subject.startsWith('household/') ? el('a', { href: '#/menage/' + encodeURIComponent(bare) }, e.subject)
      : e.subject.startsWith('dwelling/') ? el('a', { href: '#/logement/' + encodeURIComponent(bare) }, e.subject) : e.subject;
    list.prepend(el('li', { 'data-position': e.position },
      el('strong', {}, L.type(e.type)), ' — ', link, ' — faits du ' + frDate(e.effectiveDate) +
      ', enregistré le ' + frDate(e.recordedAt), el('br', {}), dataText(e.type, e.data)));
    while (list.children.length > SHOWN_MAX) list.lastChild.remove();
  });
  return [title, [el('h1', {}, title), status, el('h2', {}, 'Dernières informations (la plus récente en haut)'), list]];
}

