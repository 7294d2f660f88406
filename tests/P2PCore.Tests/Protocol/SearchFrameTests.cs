using System.Buffers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Protocol;

/// <summary>The search frames survive the wire field for field, and bad ones are refused before they do harm.</summary>
public class SearchFrameTests
{
    private static readonly FileQuery FullQuery = new()
    {
        Names = ["*.pdf", "Ré?umé*"],
        Pattern = "^a.*b$",
        Extensions = ["pdf", ".txt"],
        MinSize = 1,
        MaxSize = long.MaxValue,
        Hash = new string('A', 64),
        Paths = ["pub/photos/*", "Ré/**/[a-z]?.jpg"],
    };

    private static readonly BacktraceStack Stack = new([new RouteHop(Guid.NewGuid(), "127.0.0.1:1"), new RouteHop(Guid.NewGuid(), "[::1]:2")]);

    private static readonly FoundFile File1 = new("ñame.txt", 12345, new string('B', 64), "pub/dir/ñame.txt");

    // Theory arguments are typed object: the wire messages are internal to the engine, and a public test method cannot name them.
    public static TheoryData<string, object> Messages() => new()
    {
        { "search", new SearchRequest(7, 5, 5000, 100, FullQuery) },
        { "search, empty query", new SearchRequest(uint.MaxValue, 0, 0, 1, new FileQuery()) },
        { "cancel", new SearchCancel(9) },
        { "results", new SearchResults(7, Signing.Unsigned(Guid.NewGuid(), "n1", "127.0.0.1:3"), 2, true, Stack, [File1, File1 with { Size = 0 }]) },
        { "done", new SearchDone(7, ProtocolError.InvalidQuery, 3, 2, "bad pattern") },
        { "query", new Query(Guid.NewGuid(), 4, 5000, Stack, Signing.NoProof, FullQuery) },
        { "hit", new QueryHit(Guid.NewGuid(), 3, 2, Stack, Signing.Unsigned(Guid.NewGuid(), "src", "h:9"), [File1]) },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_search_frame_decodes_to_what_was_encoded(string what, object theMessage)
    {
        var message = (IMessage)theMessage;
        var bytes = FrameCodec.ToArray(message);
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame), what);
        var decoded = MessageDecoder.Decode(frame);

        Assert.Equal(message.GetType(), decoded.GetType());
        Assert.Equal(bytes, FrameCodec.ToArray(decoded));
        Assert.True(bytes.Length - ProtocolLimits.FrameHeaderLength <= ProtocolLimits.MaxPayloadFor(message.Code), $"{what} is within its code's limit");
    }

    [Fact]
    public void The_search_messages_largest_payloads_are_those_docs_protocol_section_8_adds_up_with_signed_sources()
    {
        Assert.Equal(194, ProtocolLimits.MaxKeyProofBytes);
        Assert.Equal(540, ProtocolLimits.MaxSourceBytes);
        Assert.Equal(60_158, ProtocolLimits.MaxPayloadFor(MessageCode.Query));
        Assert.Equal(75_742, ProtocolLimits.MaxPayloadFor(MessageCode.QueryHit));
        Assert.Equal(75_729, ProtocolLimits.MaxPayloadFor(MessageCode.SearchResults));
    }

    [Fact]
    public void A_source_or_entry_proof_whose_key_length_is_zero_or_above_128_bytes_is_a_malformed_frame()
    {
        foreach (int length in new[] { 0, ProtocolLimits.MaxPublicKeyBytes + 1 })
        {
            var hit = new QueryHit(Guid.NewGuid(), 0, 2, Stack, new SourceNode(Guid.NewGuid(), "s", "h:1", new KeyProof(new byte[length], new byte[KeyProof.SignatureLength])), [File1]);
            var sequence = new ReadOnlySequence<byte>(FrameCodec.ToArray(hit));
            Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
            var error = Assert.Throws<ProtocolException>(() => MessageDecoder.Decode(frame));
            Assert.Equal(ProtocolError.MalformedFrame, error.Code);
            Assert.Contains("public key", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_end_of_a_search_has_a_SearchDone_status_of_its_own_that_survives_the_wire()
    {
        var reasons = Enum.GetValues<SearchEndReason>();
        var statuses = reasons.Select(SearchEndStatus.Of).ToList();

        Assert.Equal(
            [ProtocolError.SearchTimeout, ProtocolError.SearchMaxResults, ProtocolError.SearchComplete, ProtocolError.SearchCancelled, ProtocolError.NodeClosing],
            statuses);
        Assert.Equal([20, 21, 22, 23, 2], statuses.Select(s => (int)s));
        foreach (var reason in reasons)
        {
            var done = (SearchDone)Decode(FrameCodec.ToArray(SearchDone.Create(7, SearchEndStatus.Of(reason), 3, 2, reason.ToString())));
            Assert.Equal(reason, SearchEndStatus.ReasonOf(done.Status));
        }

        // Refusals are not ends of a search that ran; status 0 is an end that gives no reason.
        Assert.All(new[] { ProtocolError.None, ProtocolError.NodeBusy, ProtocolError.InvalidQuery, ProtocolError.TooManySearches }, s => Assert.Null(SearchEndStatus.ReasonOf(s)));
    }

    [Fact]
    public void A_query_decodes_to_the_same_criteria()
    {
        var query = new Query(Guid.NewGuid(), 4, 10, Stack, Signing.NoProof, FullQuery);
        var decoded = (Query)Decode(FrameCodec.ToArray(query));

        Assert.Equal(query.RequestId, decoded.RequestId);
        Assert.Equal(FullQuery.Names, decoded.Search.Names);
        Assert.Equal(FullQuery.Pattern, decoded.Search.Pattern);
        Assert.Equal(FullQuery.Extensions, decoded.Search.Extensions);
        Assert.Equal(FullQuery.MinSize, decoded.Search.MinSize);
        Assert.Equal(FullQuery.MaxSize, decoded.Search.MaxSize);
        Assert.Equal(FullQuery.Hash, decoded.Search.Hash);
        Assert.Equal(FullQuery.Paths, decoded.Search.Paths);
        Assert.Equal(Stack.Hops, decoded.Backtrace.Hops);
    }

    [Fact]
    public void Paths_follow_the_other_query_fields_under_flag_bit_3_and_a_query_without_them_is_encoded_as_before()
    {
        var plain = new FileQuery { Names = ["*.jpg"], Hash = new string('A', 64) };
        var withPaths = new FileQuery { Names = ["*.jpg"], Hash = new string('A', 64), Paths = ["pub/*", "x"] };
        var plainBytes = FrameCodec.ToArray(new SearchRequest(1, 1, 1, 1, plain));
        var pathBytes = FrameCodec.ToArray(new SearchRequest(1, 1, 1, 1, withPaths));
        int flags = ProtocolLimits.FrameHeaderLength + 4 + 1 + 4 + 4;

        Assert.Equal(0x04, plainBytes[flags]);
        Assert.Equal(0x0C, pathBytes[flags]);
        Assert.Equal(plainBytes[(flags + 1)..], pathBytes[(flags + 1)..plainBytes.Length]);
        Assert.Equal(new byte[] { 2, 0, 5, (byte)'p', (byte)'u', (byte)'b', (byte)'/', (byte)'*', 0, 1, (byte)'x' }, pathBytes[plainBytes.Length..]);
    }

    [Fact]
    public void A_query_flagged_with_paths_but_holding_none_or_too_many_is_malformed()
    {
        // The frame ends with the path count and one path of one byte: count, length (2 bytes), 'x'.
        var bytes = FrameCodec.ToArray(new SearchRequest(1, 1, 1, 1, new FileQuery { Paths = ["x"] }));
        int count = bytes.Length - 4;

        // Flagged, but no path: the frame cut after a count of 0, its header length cut to match.
        var none = bytes[..(count + 1)];
        none[count] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(none.AsSpan(2), (uint)(none.Length - ProtocolLimits.FrameHeaderLength));
        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(none)).Code);

        bytes[count] = FileQuery.MaxPaths + 1;
        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    [Fact]
    public void The_largest_Search_and_Query_are_the_payloads_that_protocol_section_8_states()
    {
        Assert.Equal(55_462, QueryWire.MaxLength);
        Assert.Equal(55_475, ProtocolLimits.MaxPayloadFor(MessageCode.Search));
        Assert.Equal(60_158, ProtocolLimits.MaxPayloadFor(MessageCode.Query));
    }

    [Fact]
    public void A_response_whose_remaining_count_is_outside_its_stack_is_malformed()
    {
        var bytes = FrameCodec.ToArray(new QueryHit(Guid.NewGuid(), 0, 2, Stack, Signing.Unsigned(Guid.NewGuid(), "s", "h:1"), []));
        bytes[ProtocolLimits.FrameHeaderLength + 16 + 2] = 3;

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    [Fact]
    public void A_backtrace_stack_deeper_than_the_limit_is_malformed()
    {
        var deep = new Query(Guid.NewGuid(), 0, 1, new BacktraceStack([.. Enumerable.Range(0, BacktraceStack.MaxDepth).Select(i => new RouteHop(Guid.NewGuid(), "h:1"))]), Signing.NoProof, new FileQuery());
        var bytes = FrameCodec.ToArray(deep);
        bytes[ProtocolLimits.FrameHeaderLength + 16 + 1 + 4] = BacktraceStack.MaxDepth + 1;

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    [Fact]
    public void Unknown_query_flags_are_malformed()
    {
        var bytes = FrameCodec.ToArray(new SearchRequest(1, 1, 1, 1, new FileQuery()));
        bytes[ProtocolLimits.FrameHeaderLength + 4 + 1 + 4 + 4] = 0x80;

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    private static IMessage Decode(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
        return MessageDecoder.Decode(frame);
    }
}
