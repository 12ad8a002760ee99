// @ts-check
/**
 * The console's entry: signs in (the admin token, checked against the API and kept in this tab's
 * session storage), routes the hash (#/deliveries?state=parked, #/journey/<key>...) to a view module,
 * and keeps the live strip in the header fresh while the page is visible.
 */
import { ApiError, call, setToken, token } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { startLive } from './live.js';
import { VIEWS } from './views/index.js';

const view = /** @type {HTMLElement} */ (document.getElementById('view'));
const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const signout = /** @type {HTMLButtonElement} */ (document.getElementById('signout'));
const live = /** @type {HTMLElement} */ (document.getElementById('live'));

/** @type {(() => void) | null} */
let cleanup = null;
/** @type {(() => void) | null} */
let stopLive = null;
let renders = 0;

signout.addEventListener('click', () => {
  setToken('');
  location.hash = '#/signin';
});

/** The page the hash names: `#/name/rest?query`. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart = '', queryPart = ''] = raw.split('?', 2);
  const [name = '', ...rest] = pathPart.split('/');
  return { name: name || 'connectors', arg: rest.map(decodeURIComponent).join('/'), params: new URLSearchParams(queryPart) };
}

async function render() {
  const ticket = ++renders;
  cleanup?.();
  cleanup = null;
  const { name, arg, params } = parseHash();
  const signedIn = token() !== '';
  nav.hidden = !signedIn;
  signout.hidden = !signedIn;
  if (!signedIn || name === 'signin') {
    stopLive?.();
    stopLive = null;
    live.hidden = true;
    showSignIn();
    return;
  }
  stopLive ??= startLive(live);
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const module = VIEWS[name];
  if (!module) {
    replace(view, h('h2', null, 'Not found'), h('p', null, `No view is called ${name}.`));
    return;
  }
  document.title = `${module.title} · OM Connector Gateway`;
  const root = h('section', { class: 'view', 'aria-labelledby': 'view-title' });
  replace(view, root);
  try {
    const done = await module.render(root, { arg, params });
    if (ticket !== renders) done?.();
    else cleanup = done ?? null;
  } catch (err) {
    if (ticket !== renders) return;
    if (err instanceof ApiError && err.code === 'AUTH_FAILED') {
      setToken('');
      showSignIn('The token was refused (AUTH_FAILED): sign in again.');
      return;
    }
    root.append(errorBox(err));
  }
}

/** @param {string} [problem] */
function showSignIn(problem) {
  nav.hidden = true;
  signout.hidden = true;
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const out = h('div', { role: 'alert', class: 'error' }, problem ?? '');
  const form = h(
    'form',
    { class: 'signin', id: 'signin' },
    h('h2', { id: 'view-title' }, 'Sign in'),
    h('label', { class: 'field' }, h('span', null, 'Admin token'), input),
    h('p', { id: 'token-help', class: 'muted' }, 'The admin.token of gateway.yaml. It stays in this browser tab (session storage) and goes only to this gateway’s admin API.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value.trim();
    setToken(value);
    // The token is checked before the console opens: a wrong one says so here.
    call('GET', '/connectors')
      .then(() => {
        const target = parseHash().name === 'signin' ? '#/connectors' : location.hash || '#/connectors';
        if (location.hash === target) void render();
        else location.hash = target;
      })
      .catch((/** @type {unknown} */ err) => {
        setToken('');
        replace(out, err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
      });
  });
  replace(view, form);
  input.focus();
}

window.addEventListener('hashchange', () => {
  void render().then(() => {
    // After a navigation the next Tab starts in the content, as after a page load.
    if (document.activeElement === document.body || nav.contains(document.activeElement)) main.focus({ preventScroll: true });
  });
});
void render();
