// roster.js: who is online. The hub sends one full "Get Users" list and then
// "Users Delta" changes (we register with param2 "delta"); the seed's hub
// sends only full lists. Both are handled. Our hub's entries also say each
// user's presence (state: "ringing" or "incall", and for a door with whom),
// which it derives from the calls it routes.

// presence are the states an entry may have besides available ('').
const presence = ['ringing', 'incall'];

export class Roster {
  constructor() {
    this.users = new Map(); // name -> {name, kind, regdate, state, with}
    this.away = []; // residents with a phone that rings by push
  }

  // setAway names the residents whose phones ring by push: they can be
  // called while their app is closed.
  setAway(names) {
    this.away = Array.isArray(names) ? names.filter((n) => typeof n === 'string' && n !== '') : [];
  }

  // callable is list(self) and, after them, the residents who are not
  // online but whose phones ring by push ({away: true}).
  callable(self) {
    const away = [...new Set(this.away)]
      .filter((n) => n !== self && !this.users.has(n))
      .sort((a, b) => a.localeCompare(b))
      .map((name) => ({ name, kind: 'browser', away: true }));
    return [...this.list(self), ...away];
  }

  // full replaces the list.
  full(list) {
    this.users = new Map();
    for (const u of Array.isArray(list) ? list : []) this.add(u);
  }

  // delta applies a compact change: left names first, then joined users, so
  // a user who reconnected within one update stays listed; then the new
  // entries of listed users whose presence changed.
  delta(joined, left, changed) {
    for (const name of Array.isArray(left) ? left : []) this.users.delete(name);
    for (const u of Array.isArray(joined) ? joined : []) this.add(u);
    for (const u of Array.isArray(changed) ? changed : []) {
      if (u && this.users.has(u.name)) this.add(u);
    }
  }

  add(u) {
    if (!u || typeof u.name !== 'string' || u.name === '') return;
    this.users.set(u.name, {
      name: u.name,
      kind: u.kind === 'door' ? 'door' : 'browser',
      regdate: u.regdate,
      state: presence.includes(u.state) ? u.state : '',
      with: u.state === 'incall' && typeof u.with === 'string' ? u.with : '',
    });
  }

  kind(name) {
    const u = this.users.get(name);
    return u ? u.kind : 'browser';
  }

  has(name) {
    return this.users.has(name);
  }

  // list is everyone but self: doors first, then people by name.
  list(self) {
    return [...this.users.values()]
      .filter((u) => u.name !== self)
      .sort((a, b) => (a.kind === 'door') !== (b.kind === 'door')
        ? (a.kind === 'door' ? -1 : 1)
        : a.name.localeCompare(b.name));
  }
}
