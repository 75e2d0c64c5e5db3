import { ago, time } from '../format';
import type { HealthView } from '../types';
import { Loading, Panel, StatusDot, useNow } from './common';

/** Every subsystem's health as the node reports it, live. */
export function Health({ health }: { health: HealthView | null }) {
  const now = useNow();
  return (
    <Panel
      title="Health"
      testId="health-panel"
      extra={
        health && (
          <span className={`status-text status-${health.overall}`} data-testid="health-overall">
            <StatusDot status={health.overall} /> {health.overall}
          </span>
        )
      }
    >
      {!health ? (
        <Loading what="health" />
      ) : (
        <div className="scroll">
          <table className="table">
            <thead>
              <tr>
                <th>Subsystem</th>
                <th>Status</th>
                <th>Since</th>
                <th>Detail / last error</th>
                <th className="num">Restarts</th>
              </tr>
            </thead>
            <tbody>
              {health.components.map((c) => (
                <tr key={c.name} data-testid={`health-${c.name}`} data-status={c.status}>
                  <td>{c.name}</td>
                  <td className={`status-${c.status}`}>
                    <StatusDot status={c.status} /> {c.status}
                  </td>
                  <td className="nowrap" title={time(c.since)}>
                    {ago(c.since, now)}
                  </td>
                  <td className="wrap">
                    {c.detail && <div>{c.detail}</div>}
                    {c.lastError && (
                      <div className="muted" title={time(c.lastError.at)}>
                        {ago(c.lastError.at, now)}: {c.lastError.message}
                      </div>
                    )}
                  </td>
                  <td className="num">{c.restarts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
