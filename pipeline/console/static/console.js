// The live alert list: rows raised or changed arrive over server-sent events and take their place
// without a reload. Everything else in the console is plain forms.
"use strict";
(function () {
  const list = document.getElementById("alerts");
  if (!list || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const wanted = list.dataset.statusFilter;
  let added = 0;
  const source = new EventSource(list.dataset.live);
  source.addEventListener("alert", (event) => {
    const data = JSON.parse(event.data);
    const holder = document.createElement("div");
    holder.innerHTML = data.html; // rendered and escaped by the server's templates
    const row = holder.firstElementChild;
    const existing = document.getElementById(row.id);
    const matches = !wanted || row.dataset.status === wanted;
    if (existing) {
      if (!matches) { existing.remove(); return; }
      // Keep what the manager is typing in the note.
      const note = existing.querySelector("input[name=note]");
      const replacementNote = row.querySelector("input[name=note]");
      if (note && replacementNote) replacementNote.value = note.value;
      existing.replaceWith(row);
      return;
    }
    if (!matches) return;
    const empty = document.getElementById("no-alerts");
    if (empty) empty.remove();
    list.prepend(row);
    added += 1;
    status.textContent = added === 1 ? "1 new alert." : added + " new alerts.";
  });
  source.addEventListener("signed-out", () => {
    source.close();
    status.textContent = "You were signed out. Reload to sign in again.";
  });
  source.onerror = () => { status.textContent = "Reconnecting to live updates…"; };
  source.onopen = () => { if (!added) status.textContent = "Live: new alerts appear here as they are raised."; };
})();
