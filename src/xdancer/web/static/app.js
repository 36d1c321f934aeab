// Submit the form, then poll the job until the video is ready.
const $ = (id) => document.getElementById(id);

function fmtEta(s) {
  if (s === null || s === undefined) return "";
  return s < 60 ? ` — about ${Math.ceil(s)} s left` : ` — about ${Math.ceil(s / 60)} min left`;
}

function showStatus(text, isError) {
  $("status-box").hidden = false;
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function poll(id) {
  const r = await fetch(`/api/jobs/${id}`);
  const job = await r.json();
  if (!r.ok) { showStatus(job.detail || "lost track of this dance", true); return; }
  $("bar").value = job.progress;
  if (job.state === "queued") {
    showStatus(`waiting in line (${job.queue_position} before you)`);
  } else if (job.state === "running") {
    showStatus(`${job.stage}: ${Math.round(job.progress * 100)}%${fmtEta(job.eta_seconds)}`);
  } else if (job.state === "error") {
    showStatus(`Could not make the dance: ${job.message}`, true);
    $("go").disabled = false;
    return;
  } else if (job.state === "done") {
    showStatus("done");
    $("dance").src = job.files[0];
    $("skeleton").src = job.files[1];
    $("download").href = job.files[0];
    $("summary").textContent = job.summary;
    $("results").hidden = false;
    $("go").disabled = false;
    return;
  }
  setTimeout(() => poll(id), 500);
}

$("dance-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const fd = new FormData();
  const photo = $("photo").files[0], music = $("music").files[0];
  if ($("example_photo").checked) fd.append("example_photo", "true"); else if (photo) fd.append("photo", photo);
  if ($("example_music").checked) fd.append("example_music", "true"); else if (music) fd.append("music", music);
  for (const k of ["start", "seconds", "seed"]) fd.append(k, $(k).value);
  $("go").disabled = true;
  $("results").hidden = true;
  showStatus("uploading…");
  const r = await fetch("/api/jobs", { method: "POST", body: fd });
  const body = await r.json();
  if (!r.ok) {
    const msg = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
    showStatus(`Could not start: ${msg}`, true);
    $("go").disabled = false;
    return;
  }
  poll(body.id);
});
