using P2PTransfer.Net;

namespace P2PTransfer.Tests.Protocol;

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

    [Fact]
    public void Formats_ipv6_in_brackets()
    {
        Assert.Equal("[::1]:7", NetworkAddress.Format("::1", 7));
        Assert.Equal("127.0.0.1:7", NetworkAddress.Format("127.0.0.1", 7));
    }
}
