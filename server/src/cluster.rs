//! The `Cluster` service of the coordinator: workers join and send heartbeats.

use std::sync::Arc;

use ndserve_proto::pb::cluster_server::Cluster;
use ndserve_proto::{Error, pb};
use tonic::{Request, Response, Status};

use crate::coordinator::Coordinator;

/// Serves joins and heartbeats for a coordinator.
pub struct ClusterService {
    coord: Arc<Coordinator>,
}

impl ClusterService {
    /// The service of `coord`.
    pub fn new(coord: Arc<Coordinator>) -> ClusterService {
        ClusterService { coord }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn join(
        &self,
        req: Request<pb::JoinRequest>,
    ) -> Result<Response<pb::JoinResponse>, Status> {
        let r = req.into_inner();
        if r.protocol_major != ndserve_proto::PROTOCOL_MAJOR {
            return Err(Error::FailedPrecondition {
                message: format!(
                    "worker '{}' speaks protocol {}, this coordinator {}",
                    r.name,
                    r.protocol_major,
                    ndserve_proto::PROTOCOL_MAJOR
                ),
            }
            .into());
        }
        let w = self.coord.workers().join(&r)?;
        let config = self.coord.config();
        Ok(Response::new(pb::JoinResponse {
            worker_id: w as u64,
            heartbeat_ms: config.heartbeat.as_millis() as u64,
            timeout_ms: config.worker_timeout.as_millis() as u64,
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let r = req.into_inner();
        let known = self
            .coord
            .workers()
            .heartbeat(r.worker_id as usize, &r.devices);
        Ok(Response::new(pb::HeartbeatResponse { known }))
    }
}
