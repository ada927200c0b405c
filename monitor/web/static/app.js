// yuqing-monitor console: the little behaviour pages need, no inline script (CSP).
// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var text = (button && button.getAttribute("data-confirm")) ||
    event.target.getAttribute("data-confirm");
  if (text && !window.confirm(text)) {
    event.preventDefault();
  }
});
