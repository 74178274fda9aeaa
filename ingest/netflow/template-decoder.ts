/**
 * What the template-based decoders (NetFlow v9, IPFIX) share beyond `DatagramDecoder`: the
 * template store (keyed by exporter session, observation domain and template id, with RFC 7011
 * lifetimes on the injected clock), per-domain option data (sampling, system init time) and the
 * reusable record accumulator.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { DatagramDecoder, type DecoderOptions } from './common.ts';
import { Acc, DomainInfos } from './data.ts';
import { TemplateStore, type TemplateStoreOptions } from './templates.ts';

export interface TemplateDecoderOptions extends DecoderOptions {
  templates: Partial<TemplateStoreOptions>;
}

export abstract class TemplateDecoder extends DatagramDecoder {
  readonly templates: TemplateStore;
  protected readonly infos = new DomainInfos();
  protected readonly acc = new Acc();

  constructor(clock: Clock = systemClock, options: Partial<TemplateDecoderOptions> = {}) {
    super(options);
    this.templates = new TemplateStore(clock, options.templates);
  }
}
