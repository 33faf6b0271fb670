// The form editor. A JSON Schema (*.schema.json) is edited as a table of fields (name, type,
// label, English label, required, visibility, options with their English names, help, English
// help; add, remove, reorder — the order is written to the schema's properties and to its UI schema's
// ui:order), with the raw JSON as the second tab. English labels, help and option names go to the
// UI schema (ui:title_en, ui:help_en, ui:enumNames_en as value → name), or, for a form without a UI
// schema file, to the schema's x-title-en and x-description-en; the visibility is the field's x-visibility. A UI schema
// is edited as raw JSON. The live preview is rendered by the server (webapp/formrender.py, the
// same code as the task pages); validate / deploy send the schema and, when the order changed,
// its UI schema through the deploy checks.
(function () {
  var E = window.ZtcEditor;
  var source = document.getElementById('source');
  var preview = document.getElementById('preview');
  var errorEl = document.getElementById('json-error');
  if (!E || !source || !preview) return;
  var root = E.root;
  var fileName = root.dataset.file;
  var companionName = root.dataset.companion || '';
  var isUi = root.dataset.kind === 'uischema';
  var companion = '';  // the other file's text (UI schema of a schema, schema of a UI schema)
  var ui = null;       // the parsed UI schema of a schema (structured editor)
  var uiChanged = false;
  var timer = null;
  var seq = 0;

  function check() {
    try { JSON.parse(source.value); errorEl.textContent = ''; return true; } catch (e) {
      errorEl.textContent = String(e.message); return false;
    }
  }
  function uiText() { return ui ? JSON.stringify(ui, null, 2) : (companion || '{}'); }
  function refresh() {
    if (!check()) { preview.setAttribute('data-ready', '0'); return; }
    var mine = ++seq;
    var body = isUi ? { schema: companion, ui: source.value } : { schema: source.value, ui: uiText() };
    E.postJSON(root.dataset.previewUrl, body).then(function (r) {
      if (mine !== seq) return;
      if (!r.ok) { errorEl.textContent = r.error || (r.problems && r.problems[0] && r.problems[0].message) || ''; return; }
      preview.innerHTML = r.html;  // escaped by formrender on the server
      preview.querySelectorAll('input,select,textarea,button').forEach(function (el) { el.disabled = true; });
      preview.setAttribute('data-ready', '1');
    });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
  source.addEventListener('input', function () { check(); later(); });

  function files() {
    if (!check()) return Promise.reject(new Error(errorEl.textContent));
    var out = {}; out[fileName] = source.value;
    if (uiChanged && companionName && ui) out[companionName] = JSON.stringify(ui, null, 2) + '\n';
    return out;
  }
  document.getElementById('btn-validate').addEventListener('click', function () { E.run('validate', files); });
  document.getElementById('btn-deploy').addEventListener('click', function () { E.run('deploy', files); });
  document.getElementById('btn-download').addEventListener('click', function () { E.download(fileName, source.value); });

  // -- the structured editor ----------------------------------------------------------------
  var pane = document.getElementById('pane-fields');
  var table = document.getElementById('fields');
  var L = pane ? pane.dataset : {};
  var schema = null;
  var TYPES = ['text', 'textarea', 'integer', 'number', 'boolean', 'date', 'choice', 'multichoice'];
  var NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

  function typeName(s) {
    var t = s && s.type;
    if (Array.isArray(t)) t = t.filter(function (x) { return x !== 'null'; })[0];
    if (!t && s && ('enum' in s || 'const' in s)) t = 'string';
    return t;
  }
  function optionsOf(s) {
    if (!s) return null;
    if (Array.isArray(s.enum)) {
      var names = s.enumNames || [];
      return s.enum.filter(function (v) { return v !== null; }).map(function (v, i) { return [String(v), names[i] || String(v)]; });
    }
    var alts = s.oneOf || s.anyOf;
    if (Array.isArray(alts) && alts.some(function (o) { return o && typeof o === 'object' && 'const' in o; })) {
      return alts.filter(function (o) { return o && 'const' in o; }).map(function (o) {
        return [String(o.const), o.title || String(o.const)]; });
    }
    return null;
  }
  function kindOf(s, u) {
    var t = typeName(s);
    if (t === 'array') return optionsOf(s.items) && typeName(s.items) === 'string' ? 'multichoice' : 'other';
    if (t === 'string' && optionsOf(s)) return 'choice';
    if (t === 'boolean' || t === 'integer' || t === 'number') return t;
    if (t === 'string' && !s.format && !(u && u['ui:widget'] && u['ui:widget'] !== 'textarea')) {
      return (u && u['ui:widget'] === 'textarea') || (s.maxLength || 0) > 200 ? 'textarea' : 'text';
    }
    if (t === 'string' && s.format === 'date') return 'date';
    return 'other';
  }
  function canUi() { return !!(ui && companionName); }  // English option names need a UI schema file
  function namesEn(key, opts) {  // ui:enumNames_en as value → name (a list is in the options' order)
    var n = uiOf(key)['ui:enumNames_en'];
    var out = {};
    if (Array.isArray(n)) (opts || []).forEach(function (o, i) { if (n[i]) out[o[0]] = String(n[i]); });
    else if (n && typeof n === 'object') Object.keys(n).forEach(function (v) { if (n[v]) out[v] = String(n[v]); });
    return out;
  }
  function optionsText(opts, en) {
    return (opts || []).map(function (o) {
      var line = o[0] === o[1] ? o[0] : o[0] + '=' + o[1];
      if (en && en[o[0]]) line = o[0] + '=' + o[1] + '=' + en[o[0]];
      return line;
    }).join('\n');
  }
  function parseOptions(text) {  // value=中文=English (with a UI schema file), else value=label
    var seen = {};
    return text.split('\n').map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var at = line.indexOf('=');
      var value = (at < 0 ? line : line.slice(0, at)).trim();
      var label = (at < 0 ? line : line.slice(at + 1)).trim();
      var en = '';
      var at2 = canUi() ? label.indexOf('=') : -1;
      if (at2 >= 0) { en = label.slice(at2 + 1).trim(); label = label.slice(0, at2).trim(); }
      return { const: value, title: label || value, en: en };
    }).filter(function (o) { if (!o.const || seen[o.const]) return false; seen[o.const] = true; return true; });
  }
  function setUi(key, prop, value) {  // one setting of a field in the UI schema; empty removes it
    if (!canUi()) return;
    var entry = ui[key] && typeof ui[key] === 'object' ? ui[key] : {};
    if (value) entry[prop] = value; else delete entry[prop];
    if (Object.keys(entry).length) ui[key] = entry; else delete ui[key];
    uiChanged = true;
  }
  function setOptions(key, target, text) {
    var alts = parseOptions(text);
    var en = {};
    alts.forEach(function (o) { if (o.en) en[o.const] = o.en; delete o.en; });
    delete target.enum; delete target.enumNames; delete target.anyOf;
    target.oneOf = alts.length ? alts : [{ const: 'option1', title: 'option1' }];
    if (canUi()) setUi(key, 'ui:enumNames_en', Object.keys(en).length ? en : null);
  }
  function labelEn(key, s) { return uiOf(key)['ui:title_en'] || s['x-title-en'] || ''; }
  function setLabelEn(key, s, value) {
    if (canUi()) { setUi(key, 'ui:title_en', value); delete s['x-title-en']; }  // one place: the UI schema
    else if (value) s['x-title-en'] = value; else delete s['x-title-en'];
  }
  function helpEn(key, s) { return uiOf(key)['ui:help_en'] || s['x-description-en'] || ''; }
  function setHelpEn(key, s, value) {  // as the label: the UI schema's ui:help_en, else x-description-en
    if (canUi()) { setUi(key, 'ui:help_en', value); delete s['x-description-en']; }
    else if (value) s['x-description-en'] = value; else delete s['x-description-en'];
  }

  function order() {  // as webapp/formrender.fields_of: ui:order first, the rest after
    var keys = Object.keys(schema.properties || {});
    var listed = (ui && Array.isArray(ui['ui:order']) ? ui['ui:order'] : []).filter(function (k) {
      return k === '*' || keys.indexOf(k) >= 0; });
    var rest = keys.filter(function (k) { return listed.indexOf(k) < 0; });
    var star = listed.indexOf('*');
    if (star >= 0) return listed.slice(0, star).concat(rest, listed.slice(star + 1));
    return listed.concat(rest);
  }
  function reorder(keys) {  // the schema's properties in this order, and the UI schema's ui:order
    var props = {};
    keys.forEach(function (k) { props[k] = schema.properties[k]; });
    schema.properties = props;
    if (ui && (Array.isArray(ui['ui:order']) || companionName)) {
      ui['ui:order'] = keys.slice();
      uiChanged = true;
    }
  }
  function write() {
    source.value = JSON.stringify(schema, null, 2) + '\n';
    check();
    missingEnglish();
    later();
  }
  function uiOf(key) { return (ui && ui[key]) || {}; }

  function applyKind(key, kind) {
    var s = schema.properties[key];
    var old = kindOf(s, uiOf(key));
    if (old === kind) return;
    var optList = optionsOf(s) || optionsOf(s.items);
    var opts = optionsText(optList, namesEn(key, optList));
    ['type', 'format', 'enum', 'enumNames', 'oneOf', 'anyOf', 'items', 'uniqueItems', 'maxLength', 'minimum',
     'maximum', 'multipleOf', 'default', 'const', 'pattern', 'minLength'].forEach(function (k) { delete s[k]; });
    if (ui && ui[key] && ui[key]['ui:widget']) { delete ui[key]['ui:widget']; uiChanged = true; }
    if (kind === 'text') { s.type = 'string'; s.maxLength = 200; }
    if (kind === 'textarea') { s.type = 'string'; s.maxLength = 2000; }
    if (kind === 'integer' || kind === 'number' || kind === 'boolean') s.type = kind;
    if (kind === 'date') { s.type = 'string'; s.format = 'date'; }
    if (kind === 'choice') { s.type = 'string'; setOptions(key, s, opts); }
    if (kind === 'multichoice') { s.type = 'array'; s.items = { type: 'string' }; setOptions(key, s.items, opts); s.uniqueItems = true; }
    if (kind !== 'choice' && kind !== 'multichoice' && uiOf(key)['ui:enumNames_en']) setUi(key, 'ui:enumNames_en', null);
  }
  function setRequired(key, on) {
    var req = (schema.required || []).filter(function (k) { return k !== key; });
    if (on) req.push(key);
    if (req.length) schema.required = req; else delete schema.required;
  }
  function rename(key, to) {
    var keys = order().map(function (k) { return k === key ? to : k; });
    schema.properties[to] = schema.properties[key];
    delete schema.properties[key];
    if (schema.required) schema.required = schema.required.map(function (k) { return k === key ? to : k; });
    if (ui && ui[key]) { ui[to] = ui[key]; delete ui[key]; uiChanged = true; }
    reorder(keys);
  }
  function remove(key) {
    var keys = order().filter(function (k) { return k !== key; });
    delete schema.properties[key];
    setRequired(key, false);
    if (ui && ui[key]) { delete ui[key]; uiChanged = true; }
    reorder(keys);
  }
  function move(key, by) {
    var keys = order();
    var at = keys.indexOf(key);
    var to = at + by;
    if (at < 0 || to < 0 || to >= keys.length) return;
    keys.splice(at, 1);
    keys.splice(to, 0, key);
    reorder(keys);
  }
  function add() {
    schema.properties = schema.properties || {};
    var n = 1;
    while (schema.properties['field_' + n]) n++;
    var key = 'field_' + n;
    schema.properties[key] = { type: 'string', title: L.lNewLabel + ' ' + n, maxLength: 200 };
    reorder(order().filter(function (k) { return k !== key; }).concat([key]));
    return key;
  }

  function cell(tr, child) { var td = tr.insertCell(); if (child) td.appendChild(child); return td; }
  function input(cls, value, label, tag) {
    var el = document.createElement(tag || 'input');
    if (!tag) el.type = 'text';
    el.className = cls;
    el.autocomplete = 'off';  // built by script: the browser must not restore typed state into them on "back"
    el.value = value == null ? '' : value;
    el.setAttribute('aria-label', label);
    return el;
  }
  function button(cls, text, label, onclick) {
    var b = document.createElement('button');
    b.type = 'button'; b.className = 'btn ' + cls; b.textContent = text; b.title = label;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onclick);
    return b;
  }
  function changed(focusKey, focusClass) {
    write();
    draw();
    if (focusKey) {
      var el = table.querySelector('tr.field-row[data-name="' + CSS.escape(focusKey) + '"] .' + (focusClass || 'f-name'));
      if (el) el.focus();
    }
  }

  function draw() {
    var head = table.tHead;
    head.textContent = '';
    var hr = head.insertRow();
    [L.lName, L.lType, L.lLabel, L.lLabelEn, L.lRequired, L.lVisibility, canUi() ? L.lOptionsEn : L.lOptions, L.lHelp, L.lHelpEn,
     L.lActions].forEach(function (t) {
      var th = document.createElement('th'); th.textContent = t; hr.appendChild(th);
    });
    var body = table.tBodies[0];
    body.textContent = '';
    var keys = order();
    var required = schema.required || [];
    keys.forEach(function (key, i) {
      var s = schema.properties[key] || {};
      var kind = kindOf(s, uiOf(key));
      var tr = body.insertRow();
      tr.className = 'field-row';
      tr.setAttribute('data-name', key);

      var name = input('f-name', key, L.lName);
      name.addEventListener('change', function () {
        var to = name.value.trim();
        if (to === key) return;
        if (!NAME.test(to) || schema.properties[to]) {
          name.classList.add('invalid'); name.title = L.lBadName; errorEl.textContent = L.lBadName; return;
        }
        rename(key, to);
        changed(to, 'f-type');
      });
      cell(tr, name);

      var type = input('f-type', '', L.lType, 'select');
      TYPES.concat(kind === 'other' ? ['other'] : []).forEach(function (t) {
        var o = document.createElement('option'); o.value = t;
        o.textContent = L['lT' + t.charAt(0).toUpperCase() + t.slice(1)] || t;
        type.appendChild(o);
      });
      type.value = kind;
      type.addEventListener('change', function () { applyKind(key, type.value); changed(key, 'f-type'); });
      cell(tr, type);

      var label = input('f-label', s.title || '', L.lLabel);
      label.addEventListener('change', function () {
        if (label.value.trim()) s.title = label.value.trim(); else delete s.title;
        write();
      });
      cell(tr, label);

      var en = input('f-label-en', labelEn(key, s), L.lLabelEn);
      en.placeholder = L.lLabelEnHint;
      en.lang = 'en';
      en.classList.toggle('missing', !en.value);
      en.addEventListener('change', function () {
        setLabelEn(key, s, en.value.trim());
        en.classList.toggle('missing', !en.value.trim());
        write();
      });
      cell(tr, en);

      var req = document.createElement('input');
      req.type = 'checkbox'; req.className = 'f-required'; req.autocomplete = 'off'; req.checked = required.indexOf(key) >= 0;
      req.setAttribute('aria-label', L.lRequired);
      req.addEventListener('change', function () { setRequired(key, req.checked); write(); });
      cell(tr, req);

      var vis = input('f-visibility', '', L.lVisibility, 'select');
      var inherited = schema['x-visibility'] === 'public' ? L.lDefaultPublic : L.lDefaultInternal;
      [['', inherited], ['public', L.lPublic], ['internal', L.lInternal]].forEach(function (v) {
        var o = document.createElement('option'); o.value = v[0]; o.textContent = v[1]; vis.appendChild(o);
      });
      vis.value = s['x-visibility'] === 'public' || s['x-visibility'] === 'internal' ? s['x-visibility'] : '';
      vis.addEventListener('change', function () {
        if (vis.value) s['x-visibility'] = vis.value; else delete s['x-visibility'];
        write();
      });
      cell(tr, vis);

      var target = kind === 'multichoice' ? s.items : s;
      var choices = optionsOf(target);
      var names = canUi() ? namesEn(key, choices) : {};
      var opts = input('f-options', optionsText(choices, names), canUi() ? L.lOptionsEn : L.lOptions, 'textarea');
      opts.rows = Math.max(2, Math.min(8, (opts.value.match(/\n/g) || []).length + 1));
      opts.wrap = 'off';  // one option a line, as typed
      opts.disabled = kind !== 'choice' && kind !== 'multichoice';
      opts.addEventListener('change', function () { setOptions(key, target, opts.value); write(); });
      cell(tr, opts);

      var help = input('f-help', s.description || '', L.lHelp);
      help.addEventListener('change', function () {
        if (help.value.trim()) s.description = help.value.trim(); else delete s.description;
        write();
      });
      cell(tr, help);

      var helpEnInput = input('f-help-en', helpEn(key, s), L.lHelpEn);
      helpEnInput.lang = 'en';
      helpEnInput.addEventListener('change', function () { setHelpEn(key, s, helpEnInput.value.trim()); write(); });
      cell(tr, helpEnInput);

      var actions = cell(tr);
      actions.className = 'f-actions';
      var up = button('f-up', '↑', L.lUp, function () { move(key, -1); changed(key, 'f-up'); });
      up.disabled = i === 0;
      var down = button('f-down', '↓', L.lDown, function () { move(key, 1); changed(key, 'f-down'); });
      down.disabled = i === keys.length - 1;
      actions.appendChild(up);
      actions.appendChild(down);
      actions.appendChild(button('f-remove', '✕', L.lRemove, function () { remove(key); changed(); }));
    });
    table.setAttribute('data-fields', String(keys.length));
    missingEnglish();
  }
  function missingEnglish() {  // how many fields an English page labels (or whose options it names) in Chinese
    var hint = document.getElementById('missing-en');
    if (!hint || !schema) return;
    var missing = order().filter(function (key) {
      var s = schema.properties[key] || {};
      var kind = kindOf(s, uiOf(key));
      var choices = kind === 'choice' ? optionsOf(s) : kind === 'multichoice' ? optionsOf(s.items) : null;
      var names = canUi() ? namesEn(key, choices) : null;
      return !labelEn(key, s) || (names && (choices || []).some(function (o) { return !names[o[0]]; }));
    }).length;
    hint.textContent = missing ? L.lMissingEn.replace('{n}', String(missing)) : '';
    hint.hidden = !missing;
  }

  function structured() {  // (re)read the raw JSON into the table; false when it does not parse
    if (!check()) return false;
    var parsed = JSON.parse(source.value);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
    schema = parsed;
    schema.properties = schema.properties || {};
    draw();
    return true;
  }
  function showTab(raw) {
    if (!raw && !structured()) raw = true;  // broken JSON: stay on the raw text
    document.getElementById('pane-raw').hidden = !raw;
    pane.hidden = raw;
    [['tab-fields', !raw], ['tab-raw', raw]].forEach(function (t) {
      var el = document.getElementById(t[0]);
      el.classList.toggle('active', t[1]);
      el.setAttribute('aria-selected', t[1] ? 'true' : 'false');
    });
  }
  if (pane) {
    document.getElementById('tab-fields').addEventListener('click', function () { showTab(false); });
    document.getElementById('tab-raw').addEventListener('click', function () { showTab(true); });
    document.getElementById('btn-add-field').addEventListener('click', function () { changed(add(), 'f-name'); });
  }

  var companionSrc = root.dataset.companionSrc;
  (companionSrc ? E.fetchText(companionSrc) : Promise.resolve(isUi ? '{"type": "object"}' : '{}'))
    .then(function (text) { companion = text; }, function () { companion = isUi ? '{"type": "object"}' : '{}'; })
    .then(function () {
      if (!isUi) {
        try { ui = JSON.parse(companion || '{}'); } catch (e) { ui = null; }
        if (ui && (typeof ui !== 'object' || Array.isArray(ui))) ui = null;
      }
      if (pane) showTab(false);
      refresh();
    });
})();
