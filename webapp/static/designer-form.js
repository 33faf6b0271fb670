// The form editor: JSON checked as you type, a live preview rendered by the server
// (webapp/formrender.py, the same code as the task pages), validate / deploy.
(function () {
  var E = window.ZtcEditor;
  var source = document.getElementById('source');
  var preview = document.getElementById('preview');
  var errorEl = document.getElementById('json-error');
  if (!E || !source || !preview) return;
  var root = E.root;
  var fileName = root.dataset.file;
  var isUi = root.dataset.kind === 'uischema';
  var companion = '';
  var timer = null;
  var seq = 0;

  function check() {
    try { JSON.parse(source.value); errorEl.textContent = ''; return true; } catch (e) {
      errorEl.textContent = String(e.message); return false;
    }
  }
  function refresh() {
    if (!check()) { preview.setAttribute('data-ready', '0'); return; }
    var mine = ++seq;
    var body = isUi ? { schema: companion, ui: source.value } : { schema: source.value, ui: companion || '{}' };
    E.postJSON(root.dataset.previewUrl, body).then(function (r) {
      if (mine !== seq) return;
      if (!r.ok) { errorEl.textContent = r.error || (r.problems && r.problems[0] && r.problems[0].message) || ''; return; }
      preview.innerHTML = r.html;  // escaped by formrender on the server
      preview.querySelectorAll('input,select,textarea,button').forEach(function (el) { el.disabled = true; });
      preview.setAttribute('data-ready', '1');
    });
  }
  source.addEventListener('input', function () { check(); clearTimeout(timer); timer = setTimeout(refresh, 300); });

  function files() {
    if (!check()) return Promise.reject(new Error(errorEl.textContent));
    var out = {}; out[fileName] = source.value; return out;
  }
  document.getElementById('btn-validate').addEventListener('click', function () { E.run('validate', files); });
  document.getElementById('btn-deploy').addEventListener('click', function () { E.run('deploy', files); });
  document.getElementById('btn-download').addEventListener('click', function () { E.download(fileName, source.value); });

  var companionSrc = root.dataset.companionSrc;
  (companionSrc ? E.fetchText(companionSrc) : Promise.resolve(isUi ? '{"type": "object"}' : '{}'))
    .then(function (text) { companion = text; refresh(); })
    .catch(function () { refresh(); });
})();
