/* Duties that check people in on the spot send the phone's location with the form. */
document.querySelectorAll("form[data-locate='1']").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (form.dataset.located || !navigator.geolocation) return;
    event.preventDefault();
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.latitude.value = pos.coords.latitude.toFixed(6);
      form.longitude.value = pos.coords.longitude.toFixed(6);
      form.dataset.located = "1"; form.submit();
    }, function () { form.dataset.located = "1"; form.submit(); }, {enableHighAccuracy: true, timeout: 10000});
  });
});
