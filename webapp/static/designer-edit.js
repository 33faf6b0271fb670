// Shared by the designer's editors: JSON calls with the CSRF token, validate / deploy an
// edited file, and the problem list (file, line, element id). No inline scripts (CSP).
(function () {
  var root = document.getElementById('editor');
  if (!root) return;
  var token = (document.querySelector('meta[name=csrf-token]') || {}).content || '';
  var statusEl = document.getElementById('editor-status');
  var problemsEl = document.getElementById('editor-problems');

  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, problems: [{ file: '—', message: 'HTTP ' + r.status }] }; })
        .then(function (data) {
          if (data && data.error && !data.problems) {  // the app's error shape
            data = { ok: false, problems: [{ file: '—', message: data.error.detail || data.error.message }] };
          }
          return data;
        });
    });
  }

  function status(text, kind) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = 'editor-status ' + (kind || '');
  }

  function showProblems(problems) {
    if (!problemsEl) return;
    problemsEl.textContent = '';
    if (!problems || !problems.length) { problemsEl.hidden = true; return; }
    problemsEl.hidden = false;
    var table = document.createElement('table');
    table.className = 'list problems';
    table.id = 'problems';
    var head = table.createTHead().insertRow();
    [root.dataset.lFile, root.dataset.lLine, root.dataset.lElement, root.dataset.lProblem].forEach(function (t) {
      var th = document.createElement('th'); th.textContent = t; head.appendChild(th);
    });
    var body = table.createTBody();
    problems.forEach(function (p) {
      var tr = body.insertRow();
      tr.className = 'problem';
      tr.setAttribute('data-element', p.element_id || '');
      tr.setAttribute('data-file', p.file || '');
      [['p-file', p.file], ['p-line', p.line], ['p-element', p.element_id], ['p-message', p.message]].forEach(function (c) {
        var td = tr.insertCell(); td.className = c[0]; td.textContent = c[1] == null ? '' : String(c[1]);
      });
    });
    problemsEl.appendChild(table);
  }

  // a deploy refused because the latest version moved on since this edit's base: what changed
  // in between (a diff per process) and, when the edit touches other files, applying it on the latest
  function showConflict(result, files, onProblems) {
    var box = document.getElementById('editor-conflict');
    if (!box) {
      box = document.createElement('div');
      box.id = 'editor-conflict';
      box.className = 'conflict';
      problemsEl.parentNode.insertBefore(box, problemsEl.nextSibling);
    }
    box.textContent = '';
    box.hidden = !(result.superseded && result.superseded.length);
    (result.superseded || []).forEach(function (s) {
      var p = document.createElement('p'); p.className = 'conflict-message'; p.textContent = s.message;
      var pre = document.createElement('pre'); pre.className = 'conflict-diff'; pre.textContent = s.diff || '';
      box.appendChild(p); box.appendChild(pre);
    });
    if (result.apply_url) {
      var button = document.createElement('button');
      button.type = 'button'; button.className = 'btn primary'; button.id = 'btn-apply-latest';
      button.textContent = root.dataset.lApply;
      button.addEventListener('click', function () {
        status(root.dataset.lWorking, '');
        postJSON(result.apply_url, { files: files }).then(function (r) { report('deploy', r, files, onProblems); });
      });
      box.appendChild(button);
    }
  }

  function report(action, result, files, onProblems) {
      showProblems(result.problems);
      if (onProblems) onProblems(result.problems || []);
      showConflict(result, files, onProblems);
      if (result.superseded && result.superseded.length) {
        status(root.dataset.lSuperseded, 'error');
      } else if (!result.ok) {
        var words = action === 'deploy' ? root.dataset.lRefused : root.dataset.lInvalid;  // a check deploys nothing anyway
        status(words.replace('{n}', (result.problems || []).length), 'error');
      } else if (action === 'deploy') {
        var created = (result.created || []).map(function (c) { return c[0] + ' v' + c[1]; });
        status(created.length ? root.dataset.lDeployed + ' ' + created.join(', ') : root.dataset.lUnchanged, 'ok');
        if (result.version_url) {
          var link = document.getElementById('editor-new-version');
          if (link) { link.href = result.version_url; link.hidden = false; }
        }
      } else {
        status(root.dataset.lValid, 'ok');
      }
      root.setAttribute('data-last', action + ':' + (result.ok ? 'ok' : 'refused'));
      return result;
  }

  // action: 'validate' | 'deploy'; getFiles() → Promise<{name: text}>
  function run(action, getFiles, onProblems) {
    status(root.dataset.lWorking, '');
    var sent = null;
    return Promise.resolve(getFiles()).then(function (files) {
      sent = files;
      var url = action === 'deploy' ? root.dataset.deployUrl : root.dataset.validateUrl;
      return postJSON(url, { files: files });
    }).then(function (result) {
      return report(action, result, sent, onProblems);
    }).catch(function (err) {
      status(String(err && err.message || err), 'error');
      root.setAttribute('data-last', action + ':failed');
    });
  }

  function download(name, text) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function fetchText(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.text();
    });
  }

  window.ZtcEditor = { root: root, postJSON: postJSON, run: run, status: status, download: download,
                       fetchText: fetchText, showProblems: showProblems };
})();
