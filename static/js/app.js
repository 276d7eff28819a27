// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  event.preventDefault();
  navigator.clipboard.writeText(button.dataset.copy).then(function () {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
// Close an open <details> menu when clicking elsewhere.
document.addEventListener("click", function (event) {
  document.querySelectorAll("details[open].switcher, details[open].rowmenu").forEach(function (d) {
    if (!d.contains(event.target)) d.removeAttribute("open");
  });
});
