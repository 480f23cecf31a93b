// Applies the saved light/dark choice before the page is painted; without
// one the console follows the system setting (see console.css).
'use strict';
try {
  var t = localStorage.getItem('flowlens-theme');
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
} catch (e) {
  /* storage disabled: follow the system */
}
