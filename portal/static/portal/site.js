/* Behaviour shared by every page, switched on by data attributes (the
   Content-Security-Policy forbids inline scripts and on* attributes):
   - data-confirm="question" on a submit button: ask before sending the form;
   - data-auto-submit on a form field: send its form when it changes;
   - data-select-on-focus on a field: select its text when it gets focus. */
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-auto-submit]");
  if (field && field.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
});
document.addEventListener("focusin", function (event) {
  var field = event.target.closest("[data-select-on-focus]");
  if (field) field.select();
});
