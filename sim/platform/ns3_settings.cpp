#include "sim/platform/ns3_settings.hpp"

#include <ns3/boolean.h>
#include <ns3/config.h>
#include <ns3/string.h>
#include <ns3/uinteger.h>

namespace dipaco::sim {

void ns3_set_congestion_control() {
  ns3::Config::SetDefault("ns3::TcpL4Protocol::SocketType", ns3::StringValue("ns3::TcpCubic"));
}

void ns3_set_socket_sizes(const Ns3Spec& spec) {
  const auto window = static_cast<uint64_t>(spec.window_bytes);
  ns3::Config::SetDefault("ns3::TcpSocket::SndBufSize", ns3::UintegerValue(window));
  ns3::Config::SetDefault("ns3::TcpSocket::RcvBufSize", ns3::UintegerValue(window));
  ns3::Config::SetDefault("ns3::TcpSocket::SegmentSize", ns3::UintegerValue(static_cast<uint64_t>(spec.segment_bytes)));
  ns3::Config::SetDefault("ns3::TcpSocketBase::WindowScaling", ns3::BooleanValue(true));  // windows above 64 KiB
}

}  // namespace dipaco::sim
