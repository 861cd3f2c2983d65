//! One epoch of a flow, with its batches prepared ahead on a background thread.
//!
//! The producer thread builds batches in order (each batch's images in parallel on rayon) and hands them
//! over through a bounded channel: with `prefetch = k`, at most k batches exist that the consumer has not
//! taken yet (k - 1 waiting in the channel plus one being built or blocked on the send). Memory is
//! therefore bounded by k batches beyond the one the training loop holds. `prefetch = 0` builds each
//! batch on the consumer's thread when it is asked for. Dropping the epoch early stops the producer after
//! the batch in hand.

use crate::batch::Batch;
use crate::error::DataError;
use crate::iterator::FlowInner;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

/// The batches of one epoch: an iterator of `Result<Batch, DataError>` with an exact length.
pub struct Epoch {
    flow: Arc<FlowInner>,
    epoch: u64,
    order: Arc<Vec<usize>>,
    next: usize,
    total: usize,
    background: Option<Background>,
}

struct Background {
    receiver: Option<Receiver<Result<Batch, DataError>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Epoch {
    pub(crate) fn new(flow: Arc<FlowInner>, epoch: u64) -> Self {
        let order = Arc::new(flow.index_array(epoch));
        let total = flow.batches();
        let background = (flow.prefetch > 0 && total > 0)
            .then(|| spawn(flow.clone(), epoch, order.clone(), total))
            .flatten();
        Epoch {
            flow,
            epoch,
            order,
            next: 0,
            total,
            background,
        }
    }

    /// The epoch number.
    pub fn number(&self) -> u64 {
        self.epoch
    }

    /// The order samples are visited in.
    pub fn index_array(&self) -> &[usize] {
        &self.order
    }
}

fn spawn(
    flow: Arc<FlowInner>,
    epoch: u64,
    order: Arc<Vec<usize>>,
    total: usize,
) -> Option<Background> {
    let (sender, receiver) = sync_channel(flow.prefetch - 1);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("graft-data-prefetch".into())
        .spawn(move || {
            for index in 0..total {
                if stop_flag.load(Ordering::Relaxed) {
                    break;
                }
                let batch = flow.build_batch(epoch, &order, index);
                if sender.send(batch).is_err() {
                    break;
                }
            }
        })
        // Without a thread, fall back to building batches on demand.
        .ok()?;
    Some(Background {
        receiver: Some(receiver),
        stop,
        handle: Some(handle),
    })
}

impl Iterator for Epoch {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        let item = match &self.background {
            Some(background) => match background.receiver.as_ref().map(|r| r.recv()) {
                Some(Ok(batch)) => batch,
                _ => Err(DataError::Worker(
                    "the prefetch thread stopped (did a preprocessing function panic?)".into(),
                )),
            },
            None => self.flow.build_batch(self.epoch, &self.order, self.next),
        };
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Epoch {}

impl Drop for Epoch {
    fn drop(&mut self) {
        if let Some(background) = &mut self.background {
            background.stop.store(true, Ordering::Relaxed);
            // Dropping the receiver makes a pending send fail, so the producer exits.
            background.receiver.take();
            if let Some(handle) = background.handle.take() {
                let _ = handle.join();
            }
        }
    }
}
