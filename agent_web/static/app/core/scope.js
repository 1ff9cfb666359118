// What a view registers while it is on screen — live handlers, snapshot loaders, timers,
// listeners on the shell — undone in one call when the view is left. A view that forgot to
// clean up would keep reacting behind the next one.
import { live } from "./live.js";

export function scope() {
  const undo = [];
  return {
    on(fn) { undo.push(live.on(fn)); },
    snapshot(fn) { undo.push(live.snapshot(fn)); },
    every(fn, ms) { const id = setInterval(fn, ms); undo.push(() => clearInterval(id)); },
    listen(target, type, fn, opts) {
      target.addEventListener(type, fn, opts);
      undo.push(() => target.removeEventListener(type, fn, opts));
    },
    add(fn) { undo.push(fn); },
    close() { while (undo.length) { try { undo.pop()(); } catch (err) { console.error(err); } } },
  };
}
