/* The console's shared script: copy buttons. Pages work without it; it only adds conveniences. */
/* global document, navigator */
'use strict';

for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', async () => {
    const input = document.getElementById(button.dataset.copy);
    const said = button.parentElement.querySelector('.copied');
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      if (said) said.textContent = 'Copied.';
    } catch {
      // No clipboard permission (e.g. plain http): the text is selected, so Ctrl+C still works.
      if (said) said.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
}
