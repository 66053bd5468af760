import { LabIcon } from '@jupyterlab/ui-components';

/** A key, drawn in the theme's icon colour (the `jp-icon3` class). */
const keySvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12.65 10A5.99 5.99 0 0 0 7 6c-3.31 0-6 2.69-6 6s2.69 6 6 6a5.99 5.99 0 0 0 5.65-4H17v4h4v-4h2v-4H12.65zM7 14c-1.1 0-2-.9-2-2s.9-2 2-2 2 .9 2 2-.9 2-2 2z"/>
</svg>`;

export const keyIcon = new LabIcon({
  name: 'open-notebook-ext:key',
  svgstr: keySvg
});
