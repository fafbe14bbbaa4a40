// The sparkgate web shell: xterm.js on a terminado websocket (/terminals/websocket/{name}).
// The token lives in sessionStorage (this tab only); REST calls send it in the Authorization
// header, the websocket as ?token= (browsers cannot set websocket headers).
/* global Terminal, FitAddon */
'use strict';

(() => {
  const TOKEN_KEY = 'sparkgate.token';
  const TERMINAL_KEY = 'sparkgate.terminal';
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $('status'), signout: $('signout'), login: $('login'), token: $('token'), loginError: $('login-error'),
    chooser: $('chooser'), target: $('target'), kernels: $('kernels'), terminals: $('terminals'),
    refresh: $('refresh'), close: $('close'), chooserError: $('chooser-error'), terminal: $('terminal'),
  };

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let ws = null;
  let current = null; // terminal name
  let ended = false;
  let retries = 0;

  const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(ui.terminal);
  fit.fit();
  window.addEventListener('resize', () => fit.fit());

  const status = (text) => { ui.status.textContent = text; };
  const send = (frame) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame)); };
  term.onData((data) => send(['stdin', data]));
  term.onResize(({ rows, cols }) => send(['set_size', rows, cols]));

  async function api(path, init = {}) {
    const res = await fetch(new URL(path, location.href), {
      ...init,
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    });
    if (res.status === 204) return undefined;
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.message || `HTTP ${res.status}`), { status: res.status });
    return body;
  }

  function show(view) {
    ui.login.hidden = view !== 'login';
    ui.chooser.hidden = view !== 'chooser';
    ui.signout.hidden = view === 'login';
    if (view === 'login') ui.token.focus();
  }

  async function refresh() {
    const [kernels, terminals] = await Promise.all([api('api/kernels'), api('api/terminals')]);
    ui.kernels.replaceChildren(...kernels.map((k) => option(`kernel:${k.id}`, `${k.name} ${k.id.slice(0, 8)} (${k.execution_state})`)));
    ui.terminals.replaceChildren(...terminals.map((t) => option(`terminal:${t.name}`, `${t.name} (${t.kind}, ${t.connections} connected)`)));
    return terminals;
  }

  function option(value, label) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  async function signIn(candidate) {
    token = candidate;
    try {
      const terminals = await refresh();
      sessionStorage.setItem(TOKEN_KEY, token);
      ui.loginError.textContent = '';
      show('chooser');
      status('signed in');
      const last = sessionStorage.getItem(TERMINAL_KEY);
      if (last && terminals.some((t) => t.name === last)) connect(last);
    } catch (err) {
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      show('login');
      ui.loginError.textContent = err.status === 401 ? 'That token was not accepted.' : `Cannot reach the gateway: ${err.message}`;
    }
  }

  async function open(value) {
    ui.chooserError.textContent = '';
    const [kind, arg] = [value.slice(0, value.indexOf(':')), value.slice(value.indexOf(':') + 1)];
    try {
      if (kind === 'terminal') return connect(arg);
      const body = kind === 'kernel' ? { kernel_id: arg } : arg === 'python' ? {} : { kernelspec: arg };
      const model = await api('api/terminals', { method: 'POST', body: JSON.stringify(body) });
      connect(model.name);
    } catch (err) {
      ui.chooserError.textContent = err.message;
    }
  }

  function connect(name) {
    if (ws) { ws.onclose = null; ws.close(1000); }
    current = name;
    ended = false;
    sessionStorage.setItem(TERMINAL_KEY, name);
    const url = new URL(`terminals/websocket/${encodeURIComponent(name)}`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    status(`connecting to ${name}…`);
    const socket = new WebSocket(url);
    ws = socket;
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      switch (msg[0]) {
        case 'setup':
          // A reconnect replays the recent output: start from a clean screen.
          term.reset();
          retries = 0;
          send(['set_size', term.rows, term.cols]);
          ui.close.hidden = false;
          status(`terminal ${name}`);
          term.focus();
          break;
        case 'stdout':
          term.write(msg[1]);
          break;
        case 'disconnect': {
          ended = true;
          const code = msg[2] && msg[2].exit_code;
          term.write(`\r\n\x1b[2m[process exited${code === null || code === undefined ? '' : ` with status ${code}`}]\x1b[0m\r\n`);
          finished(`terminal ${name} ended`);
          break;
        }
        default:
          break;
      }
    };
    socket.onclose = (event) => {
      if (socket !== ws || ended) return;
      // 1000/1001: closed on purpose (terminal deleted, gateway stopping); else try again.
      if (event.code === 1000 || event.code === 1001 || retries >= 6) return finished(`disconnected (${event.code})`);
      const delay = Math.min(8000, 250 * 2 ** retries++);
      status(`connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(() => { if (current === name && !ended) connect(name); }, delay);
    };
  }

  function finished(text) {
    status(text);
    ui.close.hidden = true;
    sessionStorage.removeItem(TERMINAL_KEY);
    current = null;
    refresh().catch(() => undefined);
  }

  ui.login.addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn(ui.token.value.trim());
  });
  ui.chooser.addEventListener('submit', (event) => {
    event.preventDefault();
    void open(ui.target.value);
  });
  ui.refresh.addEventListener('click', () => { refresh().catch((err) => { ui.chooserError.textContent = err.message; }); });
  ui.close.addEventListener('click', () => {
    if (current) api(`api/terminals/${encodeURIComponent(current)}`, { method: 'DELETE' }).catch(() => undefined);
  });
  ui.signout.addEventListener('click', () => {
    sessionStorage.clear();
    if (ws) { ws.onclose = null; ws.close(1000); }
    ws = null;
    token = '';
    term.reset();
    status('');
    show('login');
  });

  if (token) void signIn(token);
  else show('login');
})();
