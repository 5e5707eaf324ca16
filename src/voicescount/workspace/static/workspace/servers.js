// The servers part's form: show the fields of the server chosen (KoboToolbox or ODK Central) and hide the
// other's. Without JavaScript every field shows, each labelled with its server.
(function () {
  const form = document.querySelector("[data-server-form]");
  if (!form) return;
  const kind = form.querySelector("select[name=kind]");
  const show = () => {
    form.querySelectorAll("[data-kind]").forEach((part) => {
      part.hidden = part.dataset.kind !== kind.value;
    });
  };
  kind.addEventListener("change", show);
  show();
})();
