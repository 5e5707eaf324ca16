// Autocompletion of names in the expression fields of a definition (workspace/definition_form.html).
// The names (questions and derived variables, with their labels) are in the page's JSON script
// "expression-names"; the word being typed is completed from them. Arrow keys move, Enter or Tab take
// the highlighted name, Escape closes the list. No library: the page's only other script is htmx.
(function () {
  "use strict";
  var source = document.getElementById("expression-names");
  if (!source) return;
  var names = JSON.parse(source.textContent);
  var WORD = /[A-Za-z_][A-Za-z0-9_]*$/;

  function wordBefore(field) {
    var before = field.value.slice(0, field.selectionStart);
    var inQuotes = (before.split("'").length - 1) % 2 === 1 || (before.split('"').length - 1) % 2 === 1;
    var match = inQuotes ? null : before.match(WORD);
    return match ? match[0] : "";
  }

  function setUp(field, index) {
    var list = document.createElement("ul");
    list.className = "name-suggestions";
    list.id = "suggestions-" + field.id;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    field.insertAdjacentElement("afterend", list);
    field.setAttribute("role", "combobox");
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-controls", list.id);
    field.setAttribute("aria-expanded", "false");
    var active = -1;
    var shown = [];

    function close() {
      list.hidden = true;
      active = -1;
      field.setAttribute("aria-expanded", "false");
      field.removeAttribute("aria-activedescendant");
    }

    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (item, j) {
        item.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      if (i >= 0) field.setAttribute("aria-activedescendant", list.children[i].id);
    }

    function take(name) {
      var word = wordBefore(field);
      var start = field.selectionStart - word.length;
      field.value = field.value.slice(0, start) + name + field.value.slice(field.selectionStart);
      var caret = start + name.length;
      field.setSelectionRange(caret, caret);
      close();
      field.dispatchEvent(new Event("input", { bubbles: true })); // the live preview follows
      field.focus();
    }

    function update() {
      var word = wordBefore(field).toLowerCase();
      if (!word) return close();
      shown = names.filter(function (n) {
        return n.name.toLowerCase().indexOf(word) === 0 && n.name.toLowerCase() !== word;
      }).slice(0, 8);
      if (!shown.length) return close();
      list.innerHTML = "";
      shown.forEach(function (n, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        var code = document.createElement("code");
        code.textContent = n.name;
        item.appendChild(code);
        if (n.label) {
          var label = document.createElement("span");
          label.textContent = " " + n.label;
          item.appendChild(label);
        }
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the field
          take(n.name);
        });
        list.appendChild(item);
      });
      list.hidden = false;
      field.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    field.addEventListener("input", update);
    field.addEventListener("blur", close);
    field.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + shown.length) % shown.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        take(shown[active].name);
      } else if (event.key === "Escape") {
        close();
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-names]"), setUp);
})();
