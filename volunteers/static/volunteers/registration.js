/* Community registration: suggest branches as the name is typed (from the
   address in data-suggest-url), and a chosen branch fills in the name. */
(function () {
  var input = document.getElementById("id_branch_name");
  var list = document.getElementById("branch-options");
  if (!input || !list) return;
  var url = input.dataset.suggestUrl;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (!q) { return; }
    timer = setTimeout(function () {
      fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          list.textContent = "";
          data.results.forEach(function (b) {
            var option = document.createElement("option");
            option.value = b.title;
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 250);
  });
  document.querySelectorAll('input[name="branch"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      input.value = radio.nextElementSibling.textContent.split(" · ")[0];
    });
  });
})();
