/* The study form's province picker: a filter box over the checkboxes (progressive enhancement: without
   JavaScript the box stays hidden and the whole list is shown). Matching ignores case, accents and đ/d,
   so "da nang" finds Đà Nẵng. Hidden checkboxes keep their state and are still sent with the form. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }

  function enhance(picker) {
    var tools = picker.querySelector("[data-province-filter]");
    var input = tools.querySelector("input");
    var count = tools.querySelector("[data-province-count]");
    var items = Array.prototype.slice.call(picker.querySelectorAll("li[data-names]"));
    var keys = items.map(function (item) { return fold(item.getAttribute("data-names")); });
    var template = picker.getAttribute("data-count-text");

    function update() {
      var query = fold(input.value.trim());
      var shown = 0;
      var ticked = 0;
      items.forEach(function (item, index) {
        var match = query === "" || keys[index].indexOf(query) !== -1;
        item.hidden = !match;
        if (match) { shown += 1; }
        if (item.querySelector("input").checked) { ticked += 1; }
      });
      count.textContent = template
        .replace("{shown}", String(shown))
        .replace("{total}", String(items.length))
        .replace("{ticked}", String(ticked));
    }

    tools.hidden = false;
    input.addEventListener("input", update);
    // Enter in the filter box narrows the list; it must not send the whole form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    picker.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-province-picker]").forEach(enhance);
  });
})();
