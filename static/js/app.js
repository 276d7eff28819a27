// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy], [data-copy-from]");
  if (!button) return;
  event.preventDefault();
  const text = button.dataset.copyFrom
    ? document.querySelector(button.dataset.copyFrom).textContent
    : button.dataset.copy;
  const done = function () {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    // Plain-http hosts have no Clipboard API: copy through a temporary text area.
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
});
// Close an open <details> menu when clicking elsewhere.
document.addEventListener("click", function (event) {
  document.querySelectorAll("details[open].switcher, details[open].rowmenu").forEach(function (d) {
    if (!d.contains(event.target)) d.removeAttribute("open");
  });
});
