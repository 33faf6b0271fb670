// Repeatable rows: add from the <template>, remove, renumber (name.0.x, name.1.x …).
(function () {
  function renumber(container) {
    var name = container.getAttribute('data-name');
    container.querySelectorAll(':scope > .row-item').forEach(function (row, i) {
      row.setAttribute('data-index', i);
      row.querySelectorAll('[name]').forEach(function (el) {
        var prefix = name + '.';
        var n = el.getAttribute('name');
        if (n.indexOf(prefix) === 0) {
          el.setAttribute('name', prefix + i + n.slice(prefix.length).replace(/^(\d+|__i__)/, ''));
        }
        if (el.id) { el.id = el.id.replace(/-(\d+|__i__)-/, '-' + i + '-'); }
      });
    });
  }
  document.addEventListener('click', function (ev) {
    var add = ev.target.closest('.add-row');
    if (add) {
      var container = document.getElementById(add.getAttribute('data-target'));
      var tpl = document.getElementById(add.getAttribute('data-target') + '-template');
      container.appendChild(tpl.content.cloneNode(true));
      renumber(container);
      var first = container.lastElementChild.querySelector('input,select,textarea');
      if (first) first.focus();
      return;
    }
    var remove = ev.target.closest('.remove-row');
    if (remove) {
      var row = remove.closest('.row-item');
      var box = row.parentElement;
      row.remove();
      renumber(box);
    }
  });
})();

// Confirmation before a form is sent: <form data-confirm="…"> (the CSP forbids inline onsubmit).
document.addEventListener('submit', function (ev) {
  var form = ev.target;
  var text = form && form.getAttribute && form.getAttribute('data-confirm');
  if (text && !window.confirm(text)) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}, true);

// inbox: a "select all" box ticks every task row for the bulk form
(function () {
  const all = document.getElementById('select-all');
  if (!all) return;
  all.addEventListener('change', () => {
    document.querySelectorAll('.select-task').forEach((box) => { box.checked = all.checked; });
  });
})();

// 常用意见: beside every text area of a task form, a list of the person's saved phrases;
// choosing one inserts it at the cursor (webapp/office_verbs.py serves /phrases.json)
(function () {
  const form = document.getElementById('task-form');
  if (!form) return;
  const areas = form.querySelectorAll('textarea');
  if (!areas.length) return;
  const lang = document.documentElement.lang;
  fetch('/phrases.json', { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).then((body) => {
    if (!body || !body.phrases.length) return;
    areas.forEach((area) => {
      const pick = document.createElement('select');
      pick.className = 'phrase-pick';
      pick.setAttribute('aria-label', (lang === 'en' ? 'Insert a saved phrase into ' : '插入常用意见到') +
        ((area.labels && area.labels[0] && area.labels[0].textContent.trim()) || ''));
      const first = document.createElement('option');
      first.value = '';
      first.textContent = lang === 'en' ? 'Insert a saved phrase…' : '插入常用意见…';
      pick.appendChild(first);
      body.phrases.forEach((text) => {
        const option = document.createElement('option');
        option.value = text;
        option.textContent = text.length > 40 ? text.slice(0, 40) + '…' : text;
        pick.appendChild(option);
      });
      pick.addEventListener('change', () => {
        if (!pick.value) return;
        const at = area.selectionStart ?? area.value.length;
        area.value = area.value.slice(0, at) + pick.value + area.value.slice(area.selectionEnd ?? at);
        area.dispatchEvent(new Event('input', { bubbles: true }));
        pick.value = '';
        area.focus();
      });
      area.insertAdjacentElement('beforebegin', pick);
    });
  });
})();

// unit pickers (webapp/formrender.py): a long list of units, grouped by county with the case's
// county first, gets a search box; the plain list works without script
(function () {
  document.querySelectorAll('[data-unit-picker]').forEach((picker) => {
    const find = document.createElement('input');
    find.type = 'search';
    find.className = 'unit-find';
    find.id = picker.id + '-find';
    find.placeholder = picker.getAttribute('data-find-label') || '';
    find.setAttribute('aria-label', find.placeholder);
    find.setAttribute('aria-controls', picker.id);
    find.autocomplete = 'off';
    picker.parentNode.insertBefore(find, picker);
    const groups = Array.from(picker.querySelectorAll('details'));
    const wasOpen = groups.map((d) => d.open);
    const matches = (text, value, q) => !q || text.toLowerCase().includes(q) || value.toLowerCase().includes(q);
    find.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });  // no submit
    find.addEventListener('input', () => {
      const q = find.value.trim().toLowerCase();
      if (picker.tagName === 'SELECT') {
        picker.querySelectorAll('option').forEach((o) => {
          o.hidden = !!o.value && !o.selected && !matches(o.textContent, o.value, q);
        });
        picker.querySelectorAll('optgroup').forEach((g) => {
          g.hidden = !Array.from(g.children).some((o) => !o.hidden);
        });
        return;
      }
      groups.forEach((details, i) => {
        let shown = 0;
        details.querySelectorAll('label.choice').forEach((label) => {
          const box = label.querySelector('input');
          const keep = box.checked || matches(label.textContent, box.value, q);
          label.hidden = !keep;
          if (keep) shown += 1;
        });
        details.hidden = shown === 0;
        details.open = q ? shown > 0 : wasOpen[i] || !!details.querySelector('input:checked');
      });
    });
  });
})();
