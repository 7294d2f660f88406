using System.Net.Sockets;
using P2PTransfer.Net;
using P2PTransfer.Protocol;

namespace P2PTransfer.Tests.Net;

public class NetworkAddressTests
{
    [Theory]
    [InlineData("127.0.0.2:4000", "127.0.0.2", 4000)]
    [InlineData("127.0.0.2", "127.0.0.2", 47100)]
    [InlineData("localhost:1", "localhost", 1)]
    [InlineData("[::1]:5000", "::1", 5000)]
    [InlineData("[::1]", "::1", 47100)]
    [InlineData("::1", "::1", 47100)]
    public void Parses_host_and_port_with_the_default_port(string text, string host, int port)
    {
        Assert.Equal((host, port), NetworkAddress.Parse(text, 47100));
    }

    [Theory]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("host:x")]
    [InlineData(":80")]
    [InlineData("[::1")]
    public void Refuses_malformed_addresses(string text)
    {
        Assert.Throws<FormatException>(() => NetworkAddress.Parse(text, 47100));
    }

    [Theory]
    [InlineData(SocketError.HostNotFound, ProtocolError.HostNotFound)]
    [InlineData(SocketError.NoData, ProtocolError.HostNotFound)]
    [InlineData(SocketError.TryAgain, ProtocolError.ConnectionLost)]
    [InlineData(SocketError.NoRecovery, ProtocolError.ConnectionLost)]
    [InlineData(SocketError.NetworkUnreachable, ProtocolError.ConnectionLost)]
    public void Only_a_name_without_an_address_is_HostNotFound_other_look_up_failures_are_ConnectionLost_naming_the_host(SocketError cause, ProtocolError expected)
    {
        var error = NetworkAddress.ResolveFailure(new SocketException((int)cause), "seed.example.org", "seed.example.org:47100");

        Assert.Equal(expected, error.Code);
        Assert.Contains("'seed.example.org'", error.Message);
        Assert.Equal(cause, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    [Fact]
    public void Formats_ipv6_in_brackets()
    {
        Assert.Equal("[::1]:7", NetworkAddress.Format("::1", 7));
        Assert.Equal("127.0.0.1:7", NetworkAddress.Format("127.0.0.1", 7));
    }

    [Theory]
    [InlineData("127.0.0.1:47100")]
    [InlineData("0.0.0.0:1")]
    [InlineData("255.255.255.255:65535")]
    [InlineData("localhost:1")]
    [InlineData("node-1.example.org:47100")]
    [InlineData("A.B-c.d9:2")]
    [InlineData("ho_st:1")]
    [InlineData("my_service:47100")]
    [InlineData("_sip._tcp.example.org:5060")]
    [InlineData("[::1]:5000")]
    [InlineData("[2001:db8::7]:47100")]
    [InlineData("[::ffff:10.0.0.1]:1")]
    public void An_endpoint_of_the_wire_grammar_is_valid(string endpoint)
    {
        Assert.True(WireRules.IsEndpoint(endpoint));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("host")]
    [InlineData(":80")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:080")]
    [InlineData("host:+80")]
    [InlineData("host: 80")]
    [InlineData(" host:80")]
    [InlineData("127.0.0.01:80")]
    [InlineData("127.0.0.256:80")]
    [InlineData("127.0.1:80")]
    [InlineData("1.2.3.4.5:80")]
    [InlineData("-host:80")]
    [InlineData("host-:80")]
    [InlineData("host\n:80")]
    [InlineData("host:80\n")]
    [InlineData("host.\n:80")]
    [InlineData("-_host:80")]
    [InlineData("host..org:80")]
    [InlineData("host.org.:80")]
    [InlineData("héllo:80")]
    [InlineData("::1:80")]
    [InlineData("[::1]")]
    [InlineData("[::1]80")]
    [InlineData("[127.0.0.1]:80")]
    [InlineData("[fe80::1%eth0]:80")]
    [InlineData("[]:80")]
    public void An_endpoint_outside_the_wire_grammar_is_invalid(string endpoint)
    {
        Assert.False(WireRules.IsEndpoint(endpoint));
    }

    [Theory]
    [InlineData("a\n")]
    [InlineData("node-1\n")]
    [InlineData("")]
    [InlineData("_node")]
    [InlineData(".hidden")]
    [InlineData("two words")]
    public void A_string_outside_the_node_name_rule_is_not_a_node_name(string name)
    {
        Assert.False(WireRules.IsNodeName(name));
    }

    [Fact]
    public void Endpoint_limits_are_253_characters_of_host_name_63_per_label_and_262_in_all()
    {
        string label = new('a', 63);
        string host = string.Join('.', label, label, label, new string('b', 61));
        Assert.Equal(253, host.Length);
        Assert.True(WireRules.IsEndpoint($"{host}:65535"));
        Assert.False(WireRules.IsEndpoint($"{host}b:1"));
        Assert.False(WireRules.IsEndpoint($"{new string('a', 64)}:1"));
    }
}
