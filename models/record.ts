/**
 * The windows a model is trained on, taken from the detection engine itself: a detector that
 * scores nothing and keeps each closed conduit-window as a `WindowView`. So training sees exactly
 * the windows (boundaries, lateness, empty windows of known conduits) that scoring will see.
 */
import type { SiteMap } from '../core/config.ts';
import type { FlowRecord } from '../core/records.ts';
import type { WindowDetector } from '../detectors/detector.ts';
import { DetectionEngine } from '../detectors/engine.ts';
import type { WindowView } from './features.ts';
import { windowView } from './window-view.ts';

/** Feeds flows through an engine that only records windows; `windows()` after `flush()`. */
export class WindowRecorder {
  private readonly views: WindowView[] = [];
  private readonly engine: DetectionEngine;

  constructor(siteMap: SiteMap) {
    const views = this.views;
    const recorder: WindowDetector = {
      name: 'record',
      scoreWindow: (w, ctx) => {
        views.push(windowView(w, ctx));
      },
      save: () => null,
      load: () => undefined,
    };
    this.engine = new DetectionEngine(siteMap, { detectors: [recorder] });
  }

  add(flows: readonly FlowRecord[]): void {
    this.engine.ingest(flows);
  }

  flush(): void {
    this.engine.flush();
  }

  /** Every closed conduit-window, in the order the engine closed them. */
  windows(): WindowView[] {
    return this.views;
  }
}
