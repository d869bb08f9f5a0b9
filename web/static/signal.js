// signal.js: the WebSocket to intercomd's hub.
//
// Signal registers a name, keeps the socket alive with Echo (the browser
// cannot see the server's pings, and a phone that slept may hold a dead
// socket), and when the socket drops it reconnects with exponential backoff
// and registers again. It speaks the seed's envelope (docs/PROTOCOL.md).

const backoffMin = 500; // ms, first retry
const backoffMax = 15000; // ms, longest wait between retries
const heartbeat = 20000; // ms between Echo probes

// Signal is an EventTarget. Events (detail in e.detail):
//   state      {state: 'offline'|'connecting'|'online', retryIn: ms}
//   registered {count, again}     the hub accepted our name
//   refused    {reason}           the hub refused our name (we stop)
//   lost       {}                 a registered socket dropped (we retry)
//   message    {msg}              any other message from the hub
export class Signal extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.name = '';
    this.wanted = false;
    this.registered = false;
    this.everRegistered = false;
    this.registrations = 0;
    this.attempt = 0;
    this.retryTimer = 0;
    this.beatTimer = 0;
    this.probeSince = 0;
    this.lastSeen = 0;
    this.state = 'offline';
  }

  // start connects and registers name, and keeps doing so until stop.
  start(name) {
    this.stop();
    this.name = name;
    this.wanted = true;
    this.everRegistered = false;
    this.attempt = 0;
    this.open();
  }

  // stop closes the socket for good.
  stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.drop(1000, 'bye');
    this.setState('offline');
  }

  // retryNow skips the backoff wait (the network came back, the page woke).
  retryNow() {
    if (this.wanted && !this.ws) {
      clearTimeout(this.retryTimer);
      this.open();
    }
  }

  // send sends one message; false when the socket is not open.
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  open() {
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.warn('intercom: websocket', err);
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.send({ type: 'Register', text: this.name, param2: 'delta' });
      this.startBeat();
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => this.closed();
    ws.onerror = () => {}; // a close event follows
  }

  // drop forgets the current socket without waiting for its close event.
  drop(code, reason) {
    clearInterval(this.beatTimer);
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  closed() {
    const was = this.registered;
    this.registered = false;
    this.drop();
    if (was) this.emit('lost', {});
    if (this.wanted) this.retry();
  }

  retry() {
    const base = Math.min(backoffMax, backoffMin * 2 ** this.attempt);
    const wait = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.setState('offline', wait);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), wait);
  }

  receive(data) {
    this.lastSeen = performance.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('intercom: not JSON from hub', data);
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const registerReply = msg.type === 'Register' || (msg.type === 'Error' && msg.text === 'Register');
    if (registerReply && !this.registered) {
      this.registerReply(msg);
      return;
    }
    if (msg.type === 'Echo') return;
    this.emit('message', { msg });
  }

  registerReply(msg) {
    if (msg.status === 'OK') {
      const again = this.everRegistered;
      this.registered = true;
      this.everRegistered = true;
      this.registrations++;
      this.attempt = 0;
      this.setState('online');
      this.emit('registered', { count: Number(msg.param1) || 0, again });
      return;
    }
    const reason = msg.reason || 'refused';
    if (this.everRegistered) {
      // Our old socket may still hold the name for a moment: try again.
      this.drop();
      this.retry();
      return;
    }
    this.stop();
    this.emit('refused', { reason });
  }

  // startBeat probes the socket with Echo. A probe still unanswered at the
  // next beat means the socket is dead. (Counting beats, not milliseconds,
  // keeps this right when a background tab's timers are throttled.)
  startBeat() {
    clearInterval(this.beatTimer);
    this.probeSince = 0;
    this.beatTimer = setInterval(() => {
      if (this.probeSince && this.lastSeen < this.probeSince) {
        console.warn('intercom: hub did not answer, reconnecting');
        this.closed();
        return;
      }
      this.probeSince = performance.now();
      this.send({ type: 'Echo', text: 'keepalive' });
    }, heartbeat);
  }

  setState(state, retryIn = 0) {
    this.state = state;
    this.emit('state', { state, retryIn });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
