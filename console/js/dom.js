// @ts-check
/**
 * Building the page under a Content-Security-Policy without 'unsafe-inline': elements are made with
 * createElement, text goes in as textContent and looks come from class names, never markup parsed from strings, style
 * attributes or inline handlers. Whatever a connector name or an error text holds stays text.
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * An element with attributes (a boolean sets or leaves out the attribute; a function is a listener
 * for the event it names: `onclick`) and children (strings become text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {(Child | Child[])[]} children */
export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Empties `el` and fills it with `children`. @param {Element} el @param {...(Child | Child[])} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A state as a coloured label (its class is the state's name). @param {string | null | undefined} value */
export function badge(value) {
  return value ? h('span', { class: `state ${value}` }, value) : '';
}

/**
 * A table that scrolls sideways inside its own box at a narrow width, never the page.
 * @param {string[]} headings ('#' prefix: a number column)
 * @param {Node[]} rows
 * @param {string} [label] its accessible name
 */
export function table(headings, rows, label) {
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': label ?? null, tabindex: label ? 0 : null },
    h(
      'table',
      null,
      h('thead', null, h('tr', null, headings.map((t) => h('th', { scope: 'col', class: t.startsWith('#') ? 'num' : null }, t.replace(/^#/, ''))))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: headings.length, class: 'muted' }, 'Nothing to show.'))),
    ),
  );
}

/** @param {...(Child | Child[])} cells */
export function row(...cells) {
  return h('tr', null, cells.map((c) => (c instanceof HTMLTableCellElement ? c : h('td', null, c))));
}

/** @param {number | null | undefined} n */
export function num(n) {
  return h('td', { class: 'num' }, n === null || n === undefined ? '' : String(n));
}

/** A hash link to a view. @param {string} route @param {Child} label @param {Record<string, unknown>} [attrs] */
export function link(route, label, attrs) {
  return h('a', { href: `#/${route}`, ...attrs }, label);
}

/** An ISO time as the browser's local time, with the ISO text as a tooltip. @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, Number.isNaN(d.getTime()) ? iso : d.toLocaleString());
}

/** @param {number} ms */
export function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

/** An API error as its code and message; anything else as its message. @param {unknown} err */
export function errorText(err) {
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) return `${String(err.code)}: ${String(err.message)}`;
  return err instanceof Error ? err.message : String(err);
}

/** An error where the view would be. @param {unknown} err */
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, errorText(err));
}

/** A labelled input. @param {string} label @param {Record<string, unknown>} attrs */
export function field(label, attrs) {
  return h('label', { class: 'field' }, h('span', null, label), h('input', attrs));
}

/** A labelled select. @param {string} label @param {string} name @param {string[]} values @param {string} current @param {string} [anyLabel] */
export function select(label, name, values, current, anyLabel = 'any') {
  return h(
    'label',
    { class: 'field' },
    h('span', null, label),
    h('select', { name }, h('option', { value: '' }, anyLabel), values.map((v) => h('option', { value: v, selected: v === current }, v))),
  );
}

/** The named values of a form that are not empty. @param {HTMLFormElement} form @returns {Record<string, string>} */
export function formValues(form) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  return out;
}

/**
 * Asks, in the page (keyboard-usable, no blocking window), for a confirmation and optionally a reason.
 * Resolves with the reason ('' when none is asked), or null when cancelled.
 * @param {HTMLElement} host where the question appears
 * @param {{ title: string, lines?: string[], reason?: { label: string, value?: string, required?: boolean }, confirm: string }} ask
 * @returns {Promise<string | null>}
 */
export function confirmPanel(host, ask) {
  return new Promise((resolve) => {
    const reason = ask.reason ? h('input', { name: 'reason', value: ask.reason.value ?? '', required: ask.reason.required ?? false, autocomplete: 'off' }) : null;
    const title = h('h3', { tabindex: -1 }, ask.title);
    /** @param {string | null} answer */
    const done = (answer) => {
      panel.remove();
      resolve(answer);
    };
    const panel = h(
      'form',
      {
        class: 'confirm',
        role: 'group',
        'aria-label': ask.title,
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          done(reason ? reason.value.trim() : '');
        },
        onkeydown: (/** @type {KeyboardEvent} */ e) => {
          if (e.key === 'Escape') done(null);
        },
      },
      title,
      ask.lines?.length ? h('ul', { class: 'sample' }, ask.lines.map((l) => h('li', null, l))) : null,
      reason ? h('label', { class: 'field' }, h('span', null, ask.reason?.label ?? 'Reason'), reason) : null,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, ask.confirm), h('button', { type: 'button', onclick: () => done(null) }, 'Cancel')),
    );
    host.replaceChildren(panel);
    (reason ?? title).focus();
  });
}
