namespace P2PTransfer.Protocol;

using P2PTransfer.Protocol.Messages;

/// <summary>Turns a frame into its message, dispatching on the request code.</summary>
internal static class MessageDecoder
{
    public static IMessage Decode(in Frame frame)
    {
        var reader = new PayloadReader(frame.Payload, frame.Code);
        IMessage message = frame.Code switch
        {
            MessageCode.Hello => Hello.Read(ref reader),
            MessageCode.Welcome => Welcome.Read(ref reader),
            MessageCode.Ping => Ping.Read(ref reader),
            MessageCode.Pong => Pong.Read(ref reader),
            MessageCode.Status => Status.Read(ref reader),
            MessageCode.Bye => Bye.Read(ref reader),
            MessageCode.Error => ErrorMessage.Read(ref reader),
            MessageCode.MembershipProof => MembershipProof.Read(ref reader),
            MessageCode.Search => SearchRequest.Read(ref reader),
            MessageCode.SearchCancel => SearchCancel.Read(ref reader),
            MessageCode.SearchResults => SearchResults.Read(ref reader),
            MessageCode.SearchDone => SearchDone.Read(ref reader),
            MessageCode.Query => Query.Read(ref reader),
            MessageCode.QueryHit => QueryHit.Read(ref reader),
            MessageCode.PieceListRequest => PieceListRequest.Read(ref reader),
            MessageCode.PieceList => PieceList.Read(ref reader),
            MessageCode.PieceRequest => PieceRequest.Read(ref reader),
            MessageCode.PieceData => PieceData.Read(ref reader),
            MessageCode.TransferRefused => TransferRefused.Read(ref reader),
            MessageCode.PeerExchange => PeerExchange.Read(ref reader),
            _ => throw new ProtocolException(ProtocolError.UnknownCode, $"unknown request code 0x{(byte)frame.Code:X2}"),
        };
        reader.EnsureEnd();
        return message;
    }
}
