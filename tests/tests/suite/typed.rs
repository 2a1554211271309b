//! Goal: typed logs round-trip events through each codec and agree with the
//! raw log underneath. Method: append typed events, page and tail them.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use spool_engine::{Json, LogConfig, MsgPack, Seq, TypedLog};

use crate::memory_log;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Event {
    Opened { account: String },
    Deposited { cents: u64 },
}

async fn round_trip<C: spool_engine::Codec<Event>>() {
    let (log, _) = memory_log(LogConfig::default());
    let typed = TypedLog::<Event, C>::new(log.clone());
    let events = vec![
        Event::Opened {
            account: "a-1".into(),
        },
        Event::Deposited { cents: 250 },
        Event::Deposited { cents: 100 },
    ];
    assert_eq!(typed.append(&events[0]).await.unwrap(), Seq(0));
    let range = typed.append_batch(&events[1..]).await.unwrap();
    assert_eq!(range.len(), 2);
    let page = typed.read_page(&log.first_cursor(), 10).await.unwrap();
    let values: Vec<_> = page.events.into_iter().map(|e| e.value).collect();
    assert_eq!(values, events);
    assert!(typed.append_expecting(Seq(0), &events[..1]).await.is_err());
    let tailed: Vec<_> = typed.tail(Seq(1)).take(2).collect().await;
    assert_eq!(tailed[1].as_ref().unwrap().value, events[2]);
    // The raw log holds the codec's bytes.
    let raw = log.read_page(&log.first_cursor(), 1).await.unwrap();
    assert_eq!(raw.records[0].payload, C::encode(&events[0]).unwrap());
}

#[tokio::test]
async fn json_events_round_trip() {
    round_trip::<Json>().await;
}

#[tokio::test]
async fn msgpack_events_round_trip() {
    round_trip::<MsgPack>().await;
}
