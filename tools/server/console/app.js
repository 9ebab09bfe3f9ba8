// The console's shell: sign-in, navigation, and the routes of the page
// (#/dossiers, #/menage/<id>, #/logement/<id>, #/rapport, #/direct,
// #/saisie, #/recherche). Each route renders into <main> from the API only.
import { api, state, loadSchema, el, L } from './api.js';
import { caseloadPage, dwellingPage, reportPage, searchPage } from './pages.js';
import { householdPage } from './household.js';
import { recordPage } from './forms.js';
import { livePage, stopLive } from './live.js';

const main = document.getElementById('main');

function setTitle(text) { document.title = text + ' — relais'; }

function render(title, ...nodes) {
  setTitle(title);
  main.replaceChildren(...nodes);
}

function signInPage(message) {
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off',
    required: true, spellcheck: 'false', 'aria-describedby': 'token-hint' });
  const out = el('div', { 'aria-live': 'assertive' });
  if (message) out.append(el('div', { class: 'msg' }, message));
  const form = el('form', { class: 'card', id: 'signin' },
    el('div', { class: 'field' },
      el('label', { for: 'token' }, 'Jeton d\'accès'),
      el('span', { class: 'hint', id: 'token-hint' },
        'Le jeton remis par l\'administration de relais (il commence par « rls_ »). ' +
        'Il n\'est pas conservé par le navigateur : seule la session l\'est, ' +
        'pour la journée.'),
      input),
    el('button', { type: 'submit' }, 'Se connecter'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('/v1/session', { method: 'POST', body: { token: input.value } });
    input.value = '';
    if (r.status !== 201) {
      out.replaceChildren(el('div', { class: 'msg error', role: 'alert' },
        r.status === 401 ? 'Ce jeton est inconnu ou a été révoqué.' : 'Connexion impossible (' + r.status + ').'));
      return;
    }
    state.session = r.data;
    await afterSignIn();
    location.hash = homeOf(r.data.role);
    route();
  });
  render('Connexion', el('h1', {}, 'Connexion à la console'), form, out);
}

function homeOf(role) {
  if (role === 'admin' || role === 'coordinator') return '#/dossiers';
  if (role === 'evaluator') return '#/rapport';
  return '#/recherche';
}

async function afterSignIn() {
  await loadSchema();
  const s = state.session;
  const where = s.territory ? ' — ' + L.value('Territory', s.territory) : s.org ? ' — ' + s.org : '';
  document.getElementById('who').textContent = s.name + ' (' + L.role(s.role) + where + ')';
  document.getElementById('logout').hidden = false;
  const nav = document.getElementById('nav');
  for (const li of nav.querySelectorAll('li[data-roles]'))
    li.hidden = !li.dataset.roles.split(' ').includes(s.role);
  nav.hidden = false;
}

function signedOut(message) {
  stopLive();
  state.session = null;
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  document.getElementById('nav').hidden = true;
  if (location.hash !== '#/connexion') history.replaceState(null, '', '#/connexion');
  signInPage(message);
}

async function logout() {
  const r = await api('/v1/session', { method: 'DELETE' });
  signedOut(r.status === 204 ? 'Vous êtes déconnecté.' : 'Session terminée.');
}

function markNav(hash) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  const hash = location.hash || '#/';
  if (!state.session) return signInPage();
  stopLive();
  markNav(hash);
  main.setAttribute('aria-busy', 'true');
  const parts = hash.slice(2).split('/').map(decodeURIComponent);
  const [page, id] = parts;
  const query = new URLSearchParams(hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '');
  let title = 'Console', nodes;
  try {
    switch (page.split('?')[0]) {
      case 'dossiers': [title, nodes] = await caseloadPage(query); break;
      case 'menage': [title, nodes] = await householdPage(id.split('?')[0], query); break;
      case 'logement': [title, nodes] = await dwellingPage(id.split('?')[0], query); break;
      case 'rapport': [title, nodes] = await reportPage(query); break;
      case 'direct': [title, nodes] = await livePage(); break;
      case 'saisie': [title, nodes] = await recordPage(query); break;
      case 'recherche': [title, nodes] = await searchPage(); break;
      default: location.replace(homeOf(state.session.role)); return;
    }
  } catch (e) {
    title = 'Erreur';
    nodes = [el('h1', {}, 'Erreur'), el('div', { class: 'msg error', role: 'alert' }, String(e))];
  }
  if (!state.session) return;  // signed out while loading
  // A later navigation, started while this page loaded, renders instead:
  // a slow answer must not replace the page the user went on to.
  if ((location.hash || '#/') !== hash) return;
  render(title, ...nodes);
  main.dataset.route = hash;
  main.removeAttribute('aria-busy');
  main.focus({ preventScroll: true });
}

async function start() {
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  window.addEventListener('relais-signed-out', () => signedOut('Votre session a expiré : reconnectez-vous.'));
  const r = await api('/v1/session');
  if (r.status === 200 && r.data.csrfToken) {
    state.session = r.data;
    await afterSignIn();
    if (!location.hash || location.hash === '#/connexion') location.hash = homeOf(r.data.role);
    return route();
  }
  signInPage();
}

start();
