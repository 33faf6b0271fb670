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
