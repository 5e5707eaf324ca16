// Voices part: a selection in a text (#voices-text) becomes the start/end offsets of a form
// (data-select-from), in characters (code points, as Python counts them) from the text's data-offset.
(function () {
  "use strict";
  function length(text) { return Array.from(text).length; }
  function offsetIn(container, node, offset) {
    var range = document.createRange();
    range.setStart(container, 0);
    range.setEnd(node, offset);
    return length(range.toString());
  }
  function setUp(form) {
    var container = document.getElementById(form.dataset.selectFrom);
    if (!container) { return; }
    var base = parseInt(container.dataset.offset || "0", 10);
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".voices-selected");
    function update() {
      var selection = document.getSelection();
      if (!selection || selection.rangeCount === 0) { return; }
      var range = selection.getRangeAt(0);
      if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) { return; }
      var start = offsetIn(container, range.startContainer, range.startOffset);
      var end = offsetIn(container, range.endContainer, range.endOffset);
      var chosen = end > start && range.toString().trim() !== "";
      form.elements.start.value = chosen ? base + start : "";
      form.elements.end.value = chosen ? base + end : "";
      button.disabled = !chosen;
      status.textContent = chosen ? status.dataset.some.replace("{n}", end - start) : status.dataset.none;
    }
    document.addEventListener("selectionchange", update);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-select-from]").forEach(setUp);
  });
})();
